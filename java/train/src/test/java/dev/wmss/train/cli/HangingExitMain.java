package dev.wmss.train.cli;

import dev.wmss.train.loop.Shutdown;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The application with an exit-time destructor that never returns, as OpenBLAS's gotoblas_quit can (it waits in
 * pthread_join for a worker that never wakes): {@code pause()} registered with {@code __cxa_atexit} after the
 * application's own start (where a native library's destructor would be registered, when it loads). A process that
 * ends through exit() hangs in it; one that ends by _exit does not.
 */
public final class HangingExitMain {
    private HangingExitMain() {}

    public static void main(String[] args) throws Throwable {
        Shutdown.install(); // Main does this first; the destructor below comes with the libraries, later
        Linker linker = Linker.nativeLinker();
        MethodHandle cxaAtexit = linker.downcallHandle(linker.defaultLookup().find("__cxa_atexit").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        MemorySegment pause = linker.defaultLookup().find("pause").orElseThrow();
        int rc = (int) cxaAtexit.invokeExact(pause, MemorySegment.NULL, MemorySegment.NULL);
        if (rc != 0) throw new IllegalStateException("__cxa_atexit returned " + rc);
        Main.main(args);
    }
}
