package dev.wmss.train.loop;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Progress of long loops: a bar on a terminal, periodic log lines elsewhere, nothing for NONE. */
class ProgressTest {
    @Test
    void withoutATerminalLogLinesComeAtTheirInterval() {
        List<String> lines = new ArrayList<>();
        try (Progress p = new Progress("entropies", 100, false, null, 0, lines::add)) {
            p.advance(30);
            p.advance(30);
            p.advance(40); // the end: the stage's own line follows, no progress line
        }
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("entropies 30/100 (30%)") && lines.get(0).contains("left"), lines.get(0));
        assertTrue(lines.get(1).startsWith("entropies 60/100 (60%)"), lines.get(1));
        List<String> none = new ArrayList<>();
        try (Progress p = new Progress("x", 10, false, null, 3600, none::add)) {
            p.advance(5);
        }
        assertTrue(none.isEmpty(), "not before the interval");
    }

    @Test
    void onATerminalABarIsDrawnInPlaceAndCleared() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true);
        List<String> lines = new ArrayList<>();
        try (Progress p = new Progress("evaluating", 4, true, err, 0, lines::add)) {
            p.advance(4);
        }
        String out = bytes.toString();
        assertTrue(out.contains("\r\033[K[==============================] evaluating 4/4 (100%)"), out);
        assertTrue(out.endsWith("\r\033[K"), "cleared at the end");
        assertTrue(lines.isEmpty(), "no log lines beside the bar");
        Progress.NONE.advance(3);
        Progress.NONE.close();
    }

    @Test
    void durationsReadNaturally() {
        assertEquals("42 s", Progress.duration(42));
        assertEquals("12 min", Progress.duration(720));
        assertEquals("2.5 h", Progress.duration(9000));
    }
}
