package dev.wmss.kernels.ffi;

import dev.wmss.kernels.Backend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The generated bindings (scripts/gen-bindings.py) against the headers they mirror, parsed at build time: every
 * WMSS_API function exists in Java with the same parameter count and kinds (and nothing extra), the descriptor
 * struct has the same fields at the same offsets, and the ABI version matches. Fails when a header changes and
 * the bindings were not regenerated (or the generator's tables were not updated). wmss-runtime's
 * TorchBindingsDriftTest holds wmss_torch.h's bindings to the same checks.
 */
public class BindingsDriftTest {
    static final Path INCLUDE = Path.of("../../native/include");
    private static final Pattern FUNCTION = Pattern.compile("WMSS_API\\s+([^;{]*?)\\b(\\w+)\\s*\\(([^)]*)\\)\\s*;");

    /** The C type of one parameter as the Java binding sees it. */
    static String javaKind(String cParam) {
        String t = cParam.trim();
        if (t.contains("*")) return "MemorySegment";
        t = t.replaceAll("\\b(const|unsigned)\\b", "").trim().split("\\s+")[0];
        return switch (t) {
            case "int", "int32_t", "uint32_t" -> "int";
            case "int64_t", "uint64_t" -> "long";
            case "float" -> "float";
            case "double" -> "double";
            default -> throw new IllegalArgumentException("unmapped C type '" + cParam + "'");
        };
    }

    /** name -> parameter kinds, from the header's WMSS_API declarations. */
    static Map<String, List<String>> declarations(String header) throws IOException {
        String text = Files.readString(INCLUDE.resolve(header)).replaceAll("/\\*(?s:.*?)\\*/", " ");
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher m = FUNCTION.matcher(text);
        while (m.find()) {
            List<String> kinds = new ArrayList<>();
            String params = m.group(3).trim();
            if (!params.isEmpty() && !params.equals("void"))
                for (String p : params.split(",")) kinds.add(javaKind(p));
            out.put(m.group(2), kinds);
        }
        return out;
    }

    static Map<String, List<String>> bindings(Class<?> cls) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Method m : cls.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || !Modifier.isStatic(m.getModifiers())) continue;
            List<String> kinds = new ArrayList<>();
            for (Class<?> p : m.getParameterTypes()) kinds.add(p.getSimpleName());
            out.put(m.getName(), kinds);
        }
        return out;
    }

    public static void assertSameFunctions(String header, Class<?> cls) throws IOException {
        Map<String, List<String>> c = declarations(header), java = bindings(cls);
        assertFalse(c.isEmpty(), "no declarations parsed from " + header);
        TreeSet<String> missing = new TreeSet<>(c.keySet()), extra = new TreeSet<>(java.keySet());
        missing.removeAll(java.keySet());
        extra.removeAll(c.keySet());
        assertTrue(missing.isEmpty(), header + " declares functions " + cls.getSimpleName() + " lacks: " + missing
                + " (update scripts/gen-bindings.py and run it)");
        assertTrue(extra.isEmpty(), cls.getSimpleName() + " binds functions " + header + " no longer declares: " + extra);
        for (var e : c.entrySet())
            assertEquals(e.getValue(), java.get(e.getKey()), e.getKey() + ": parameters of the C declaration vs the binding");
    }

    @Test
    void wmssBindingsMatchTheHeader() throws IOException {
        assertSameFunctions("wmss.h", WmssH.class);
    }

    @Test
    void wmssDevBindingsMatchTheHeader() throws IOException {
        assertSameFunctions("wmss_dev.h", WmssDevH.class);
    }

    @Test
    void descriptorLayoutMatchesTheHeader() throws IOException {
        assertSameLayout("wmss.h", "wmss_ce_mix_args", wmss_ce_mix_args.LAYOUT);
    }

    @Test
    void entropyDescriptorLayoutMatchesTheHeader() throws IOException {
        assertSameLayout("wmss.h", "wmss_entropy_args", wmss_entropy_args.LAYOUT);
    }

    /** A typedef'd struct of a header against its Java layout: the same fields in order, at the same offsets. */
    public static void assertSameLayout(String header, String struct, java.lang.foreign.StructLayout layout) throws IOException {
        String text = Files.readString(INCLUDE.resolve(header)).replaceAll("/\\*(?s:.*?)\\*/", " ");
        Matcher s = Pattern.compile("typedef struct " + struct + " \\{(.*?)\\} " + struct + ";", Pattern.DOTALL)
                .matcher(text);
        assertTrue(s.find(), "struct " + struct + " not found in " + header);
        // Fields in order with their C sizes, laid out with natural alignment (what the C compiler does).
        List<String> names = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        long offset = 0;
        Pattern first = Pattern.compile("^(.*?)(\\*?)\\s*(\\w+)$"), next = Pattern.compile("^(\\*?)\\s*(\\w+)$");
        for (String decl : s.group(1).split(";")) {
            if (decl.isBlank()) continue;
            String[] vars = decl.trim().split("\\s*,\\s*"); // "int64_t rows, vocab" declares two fields
            Matcher f = first.matcher(vars[0]);
            assertTrue(f.find(), decl);
            String base = f.group(1).trim();
            for (int i = 0; i < vars.length; i++) {
                Matcher v = i == 0 ? f : next.matcher(vars[i]);
                assertTrue(i == 0 || v.find(), decl);
                boolean pointer = !v.group(i == 0 ? 2 : 1).isEmpty();
                long size = pointer ? 8 : switch (javaKind(base)) {
                    case "int", "float" -> 4;
                    default -> 8;
                };
                offset = (offset + size - 1) / size * size;
                names.add(v.group(i == 0 ? 3 : 2));
                offsets.add(offset);
                offset += size;
            }
        }
        List<String> javaNames = new ArrayList<>();
        List<Long> javaOffsets = new ArrayList<>();
        for (MemoryLayout m : layout.memberLayouts()) {
            javaNames.add(m.name().orElseThrow());
            javaOffsets.add(layout.byteOffset(MemoryLayout.PathElement.groupElement(m.name().get())));
        }
        assertEquals(names, javaNames, "fields of " + struct);
        assertEquals(offsets, javaOffsets, "field offsets of " + struct);
        assertEquals((offset + 7) / 8 * 8, layout.byteSize(), "sizeof(" + struct + ")");
        assertEquals(ValueLayout.JAVA_LONG, layout.memberLayouts().get(0).withoutName(), "size first");
    }

    @Test
    void abiVersionMatchesTheHeaderAndTheLibrary() throws IOException {
        Matcher m = Pattern.compile("#define WMSS_ABI_VERSION (\\d+)").matcher(Files.readString(INCLUDE.resolve("wmss.h")));
        assertTrue(m.find());
        assertEquals(Integer.parseInt(m.group(1)), Backend.ABI_VERSION, "Backend.ABI_VERSION vs wmss.h");
        assertEquals(Backend.ABI_VERSION, WmssH.wmss_abi_version(), "the loaded libwmss");
    }
}
