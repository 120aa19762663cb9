package dev.wmss.train.experiment;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One arm of the experiment: what its second stage trains, from which model, on which examples. Every arm but the
 * control continues from the seed's M1 for one epoch under the same schedule and example order; the control is
 * plain SFT of M0 for M1's epochs + 1 in one schedule (the paper's control).
 *
 * @param name      the arm's directory and CSV name
 * @param title     for tables and plots
 * @param kind      CONTROL, SFT (plain CE), JOINT (WD-JT with M0 as weak), TEMPERATURE (CE of lambda·z_strong)
 * @param selection the WD-DS draw instead of every example once
 * @param lambda    the strong model's weight (JOINT, TEMPERATURE); 1 otherwise
 * @param frozenWeak JOINT with the weak model not trained
 */
public record Arm(String name, String title, Kind kind, boolean selection, float lambda, boolean frozenWeak) {
    public enum Kind { CONTROL, SFT, JOINT, TEMPERATURE }

    public static final String CONTROL = "control", SFT_1_1 = "sft-1+1", WMSS = "wmss", SELECTION = "selection-only",
            JOINT = "joint-only", TEMPERATURE = "temperature", FROZEN = "frozen-weak";

    /** The arms for the method's lambda and the lambda sweep of joint-only training (the method's own lambda skipped). */
    public static List<Arm> all(float lambda, List<Float> sweep) {
        List<Arm> arms = new ArrayList<>(List.of(
                new Arm(CONTROL, "control: SFT, one schedule", Kind.CONTROL, false, 1f, false),
                new Arm(SFT_1_1, "SFT 1+1 (M1 + 1 SFT epoch)", Kind.SFT, false, 1f, false),
                new Arm(WMSS, "WMSS (WD-DS + WD-JT)", Kind.JOINT, true, lambda, false),
                new Arm(SELECTION, "WD-DS draw, SFT", Kind.SFT, true, 1f, false),
                new Arm(JOINT, "WD-JT on every example", Kind.JOINT, false, lambda, false),
                new Arm(TEMPERATURE, "temperature control: CE of λ·z", Kind.TEMPERATURE, false, lambda, false),
                new Arm(FROZEN, "WD-JT, weak frozen", Kind.JOINT, false, lambda, true)));
        for (float l : sweep) {
            if (l == lambda) continue;
            arms.add(new Arm(lambdaName(l), "WD-JT on every example, λ = " + l, Kind.JOINT, false, l, false));
        }
        return arms;
    }

    /** The joint-only arm at lambda (the method's own lambda is {@link #JOINT}). */
    public static String lambdaName(float l) {
        return String.format(Locale.ROOT, "joint-lambda-%.2f", l);
    }

    /** Whether the arm needs the weak model (M0) next to the strong one. */
    public boolean joint() {
        return kind == Kind.JOINT;
    }
}
