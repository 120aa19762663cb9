package dev.wmss.train.data;

/** One supervised example: the loss is taken on the response tokens only (completion-only). */
public record Example(String prompt, String response) {
    public Example {
        if (prompt == null || response == null) throw new IllegalArgumentException("prompt and response are required");
    }
}
