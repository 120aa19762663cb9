package dev.wmss.train.settings;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * How a component of a settings record is named in messages (its command-line option, e.g. "--lr", or words for
 * what no option sets), and whether it may change when a run is resumed. A settings record is the one place an
 * option is declared for what is recorded (run.json, a checkpoint's identity) and compared on --resume
 * ({@link SettingsDiff}); a nested record's components are named by their own annotations.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD) // on a record component: carried to its field
public @interface Setting {
    /** The name in messages: "--lr", or what the value is ("training examples"). */
    String value();

    /** True for what changes only logging or checkpoint frequency: a resumed run may differ in it. */
    boolean mayChange() default false;
}
