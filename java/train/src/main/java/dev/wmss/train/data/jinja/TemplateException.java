package dev.wmss.train.data.jinja;

/** A template that cannot be parsed or rendered (including the template's own raise_exception). */
public final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
        super(message);
    }
}
