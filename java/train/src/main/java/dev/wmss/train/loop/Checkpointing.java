package dev.wmss.train.loop;

/** --activation-checkpointing: off, on, or auto (on when the memory plan says the run needs it to fit). */
public enum Checkpointing {
    OFF, ON, AUTO
}
