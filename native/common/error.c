/* Thread-local last-error message behind wmss_last_error(). */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char last_error[1024];

int wmss_fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void wmss_clear_error(void) { last_error[0] = '\0'; }

const char *wmss_last_error(void) { return last_error; }
