package dev.wmss.train.experiment;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.eval.TokenStats;

/**
 * A model's scores on a set of problems: teacher-forced exact match (the share, and which problems: '1' right,
 * '0' wrong, in the set's order) and the token loss of the responses.
 */
public record Scores(double exactMatch, double tokenLoss, String right) {
    public static Scores of(TorchModel m, Collator data, int batch) {
        TokenStats.TeacherForced tf = TokenStats.teacherForced(m, data, batch);
        boolean[] ok = tf.exactMatch();
        StringBuilder s = new StringBuilder(ok.length);
        int n = 0;
        for (boolean b : ok) {
            s.append(b ? '1' : '0');
            if (b) n++;
        }
        return new Scores((double) n / Math.max(1, ok.length), tf.tokenLoss(), s.toString());
    }

    public boolean right(int problem) {
        return right.charAt(problem) == '1';
    }
}
