package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory rules of every backend, checked in Java when a call's arguments are built, so the Java reference and
 * libtorch backends refuse what the native entry points refuse (validate.c checks the same for C callers): each
 * buffer aligned to its elements; an output may coincide exactly with its own input (in place: same start and row
 * stride), and nothing else an op writes may overlap a buffer it reads or another output; an input the op does not
 * read may overlap anything. Host memory only: device pointers are checked by the CUDA entry points.
 */
final class Overlaps {
    /** The bytes a buffer covers; owner: the input an output may coincide with (in place), or null. */
    private record Span(String name, MemorySegment bytes, long rowStride, String owner) {
    }

    private final List<Span> inputs = new ArrayList<>(), outputs = new ArrayList<>();

    Overlaps input(String name, Logits m) {
        add(inputs, name, m, null);
        return this;
    }

    Overlaps input(String name, MemorySegment v, long elements, int elementBytes) {
        add(inputs, name, v, elements, elementBytes);
        return this;
    }

    Overlaps output(String name, Logits m, String owner) {
        add(outputs, name, m, owner);
        return this;
    }

    Overlaps output(String name, MemorySegment v, long elements, int elementBytes) {
        add(outputs, name, v, elements, elementBytes);
        return this;
    }

    private static void add(List<Span> to, String name, Logits m, String owner) {
        if (!(m instanceof Logits.Host h)) return;
        aligned(name, h.data(), h.dtype().bytes());
        long bytes = h.rows() == 0 ? 0 : ((h.rows() - 1) * h.rowStride() + h.vocab()) * h.dtype().bytes();
        to.add(new Span(name, h.data().asSlice(0, bytes), h.rowStride(), owner));
    }

    private static void add(List<Span> to, String name, MemorySegment v, long elements, int elementBytes) {
        if (v == null) return;
        aligned(name, v, elementBytes);
        to.add(new Span(name, v.asSlice(0, Math.min(v.byteSize(), elements * elementBytes)), 0, null));
    }

    private static void aligned(String name, MemorySegment s, int elementBytes) {
        if (s.address() % elementBytes != 0) {
            throw new InvalidArgumentException(Status.ALIGNMENT, name + " at " + s + " is not aligned to its "
                    + elementBytes + "-byte elements");
        }
    }

    /** Throws {@link InvalidArgumentException} (status ALIAS) naming the first two buffers that may not overlap. */
    void check() {
        for (int i = 0; i < outputs.size(); i++) {
            Span out = outputs.get(i);
            for (Span in : inputs) {
                if (!overlap(out, in)) continue;
                boolean inPlace = in.name.equals(out.owner) && out.bytes.address() == in.bytes.address()
                        && out.rowStride == in.rowStride;
                if (inPlace) continue;
                throw new InvalidArgumentException(Status.ALIAS, out.name + " overlaps " + in.name
                        + " (an output may only coincide with its own input, in place, with an equal row stride)");
            }
            for (int j = i + 1; j < outputs.size(); j++) {
                if (overlap(out, outputs.get(j))) {
                    throw new InvalidArgumentException(Status.ALIAS, "outputs " + out.name + " and "
                            + outputs.get(j).name + " overlap");
                }
            }
        }
    }

    private static boolean overlap(Span a, Span b) {
        return a.bytes.byteSize() > 0 && b.bytes.byteSize() > 0 && a.bytes.asOverlappingSlice(b.bytes).isPresent();
    }
}
