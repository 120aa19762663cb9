// Error plumbing of libwmss_torch: wmss::Error (a failure with its status) and wmss::torch_guard, which every exported
// function that returns a status runs its body through: it catches everything, stores "<function>: <message>" for
// wmss_torch_last_error() and returns the status (Error's own, WMSS_ERR_OUT_OF_MEMORY, or WMSS_ERR_INTERNAL).
#pragma once
#include <c10/util/Exception.h>

#include <string>

#include "wmss.h"

namespace wmss {

/** A failure with a wmss status; anything else thrown becomes WMSS_ERR_INTERNAL. */
struct Error {
    int status;
    std::string message;
};

void set_torch_error(const std::string &message);

template <class F>
int torch_guard(const char *fn, F &&body) noexcept {
    try {
        body();
        return WMSS_OK;
    } catch (const Error &e) {
        set_torch_error(std::string(fn) + ": " + e.message);
        return e.status;
    } catch (const c10::OutOfMemoryError &e) { // a device (or the CPU) out of memory: say so, not "internal"
        set_torch_error(std::string(fn) + ": out of memory: " + e.what_without_backtrace());
        return WMSS_ERR_OUT_OF_MEMORY;
    } catch (const c10::Error &e) {
        set_torch_error(std::string(fn) + ": " + e.what_without_backtrace());
        return WMSS_ERR_INTERNAL;
    } catch (const std::bad_alloc &) {
        set_torch_error(std::string(fn) + ": out of memory");
        return WMSS_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        set_torch_error(std::string(fn) + ": " + e.what());
        return WMSS_ERR_INTERNAL;
    } catch (...) {
        set_torch_error(std::string(fn) + ": unknown C++ exception");
        return WMSS_ERR_INTERNAL;
    }
}

}  // namespace wmss
