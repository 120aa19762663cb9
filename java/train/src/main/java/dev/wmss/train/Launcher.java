package dev.wmss.train;

import java.lang.reflect.InvocationTargetException;

/**
 * The jar's entry point ({@code java -jar wmss-native.jar}), compiled for Java 8 (and nothing else in the jar is), so
 * that an older {@code java} runs it and says what is needed instead of failing with UnsupportedClassVersionError.
 * On Java 25 or newer it hands over to {@code dev.wmss.train.cli.Main}.
 */
public final class Launcher {
    /** The Java feature version the application is compiled for (the FFM API, --release 25). */
    static final int NEEDED = 25;

    private Launcher() {}

    public static void main(String[] args) throws Throwable {
        String spec = System.getProperty("java.specification.version", "?");
        if (feature(spec) < NEEDED) {
            System.err.println("wmss-native needs Java " + NEEDED + " or newer, but this is Java " + spec + " ("
                    + System.getProperty("java.home") + ").");
            System.err.println("Run it through ./wmss.sh, which finds a JDK 25 (./wmss.sh run ..., ./wmss.sh eval ...,"
                    + " any command), or with a JDK 25's own java: /path/to/jdk-25/bin/java -jar wmss-native.jar ...");
            System.exit(1);
        }
        try {
            Class.forName("dev.wmss.train.cli.Main").getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** 8 for "1.8", 25 for "25"; 0 when unreadable. */
    static int feature(String spec) {
        String s = spec.startsWith("1.") ? spec.substring(2) : spec;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) end++;
        return end == 0 ? 0 : Integer.parseInt(s.substring(0, end));
    }
}
