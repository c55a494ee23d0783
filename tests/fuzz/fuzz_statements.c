/* fuzz_statements.c - libFuzzer target: statements of every kind after parsing, under
 * random options: any bytes must give results or errors, never a crash, a hang or a
 * leak (see README.md). The first byte chooses the options, the rest is run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A session per 64 inputs (set-up loads the rule files); FUZZ_FRESH=1: one each. */
#define RESET_EVERY 64

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
	if (size < 1)
		return 0;
	if (!s || fresh || ++runs % RESET_EVERY == 0) {
		session_free(s);
		s = session_new(sink, sink);
	}
	/* options from the first byte: each bit a switch, the rest a precision */
	static const char *const switches[] = {"--latex", "--ascii", "--steps", "--emit=numpy",
					       "--emit=c", "--hide-answer"};
	struct sbuf msg = {0};
	for (int i = 0; i < 6; i++)
		options_set(s, switches[i], data[0] >> i & 1 ? "on" : "off", &msg);
	options_set(s, "--precision", data[0] & 0x40 ? "3" : "6", &msg);
	/* tight limits, so that a slow input is a limit's error, not the fuzzer's timeout */
	options_set(s, "--timeout", "2", &msg);
	options_set(s, "--max-memory", "512", &msg);
	options_set(s, "--max-terms", "5000", &msg);
	sbuf_free(&msg);
	session_run(s, "fuzz", (const char *)data + 1, size - 1);
	return 0;
}
