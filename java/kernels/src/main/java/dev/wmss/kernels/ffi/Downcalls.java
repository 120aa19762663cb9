package dev.wmss.kernels.ffi;

import dev.wmss.kernels.error.NativeLibraryException;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;

/**
 * What the binding classes share: the linker, symbol lookup that names what is missing, and call tracing. Public
 * for the generated bindings of wmss-runtime (this package is exported to that module only).
 */
public final class Downcalls {
    static final Linker LINKER = Linker.nativeLinker();
    /** {@code -Dwmss.trace=true} prints every downcall with its arguments to stderr. */
    public static final boolean TRACE = Boolean.getBoolean("wmss.trace");

    private Downcalls() {}

    /** A library opened once; a failure to open it is kept and thrown by every call into it. */
    public record Library(String name, SymbolLookup lookup, RuntimeException failure) {
        public static Library open(String name) {
            try {
                return new Library(name, NativeLoader.lookup(name), null);
            } catch (RuntimeException e) {
                return new Library(name, null, e);
            }
        }
    }

    /**
     * The downcall handle of {@code name}; if the library or symbol is missing, a handle of the same type that
     * throws the {@link NativeLibraryException} saying so (so a holder class never fails to initialise).
     */
    public static MethodHandle handle(Library lib, String name, FunctionDescriptor desc, Linker.Option... options) {
        RuntimeException failure = lib.failure();
        if (failure == null) {
            MemorySegment address = lib.lookup().find(name).orElse(null);
            if (address != null) return LINKER.downcallHandle(address, desc, options);
            failure = new NativeLibraryException("symbol " + name + " not found in lib" + lib.name()
                    + ".so (a library older than these bindings?)");
        }
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), failure.getClass()).bindTo(failure);
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }

    public static void trace(String name, Object... args) {
        System.err.println("wmss trace: " + name + Arrays.deepToString(args).replace('[', '(').replace(']', ')'));
    }
}
