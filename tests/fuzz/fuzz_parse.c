/* fuzz_parse.c - libFuzzer target: any bytes run as statements must give a result or an
 * error, never a crash, a hang or a leak (see README.md for the command). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A session costs its rule files to set up, so one serves many inputs and is
 * replaced every RESET_EVERY of them (which also bounds its arena). With
 * FUZZ_FRESH set every input gets a new session: use it to reproduce a crash
 * that the reused session's earlier declarations might have shaped. */
#define RESET_EVERY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct session *s;
	static FILE *sink;
	static unsigned long runs;
	static int fresh = -1;
	if (fresh < 0)
		fresh = getenv("FUZZ_FRESH") != NULL;
	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!s || fresh || ++runs % RESET_EVERY == 0) {
		session_free(s);
		s = session_new(sink, sink);
	}
	session_run(s, "fuzz", (const char *)data, size);
	return 0;
}
