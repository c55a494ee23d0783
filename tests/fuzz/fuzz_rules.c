/* fuzz_rules.c - libFuzzer target: a rule file followed by a few statements. The input
 * is RULES "\n%%\n" STATEMENTS; the rules are loaded as the session's only rule set and
 * the statements run with them. A broken rule file must be an error, a looping or
 * growing one must stop at a limit: never a crash, a hang or a leak (see README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "rules.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	const char *text = (const char *)data;
	size_t cut = size, rest = size;
	for (size_t i = 0; i + 4 <= size; i++)
		if (memcmp(text + i, "\n%%\n", 4) == 0) {
			cut = i;
			rest = i + 4;
			break;
		}
	struct session *s = session_new(sink, sink);
	struct sbuf msg = {0};
	options_set(s, "--timeout", "2", &msg);
	options_set(s, "--max-memory", "512", &msg);
	options_set(s, "--max-terms", "5000", &msg);
	options_set(s, "--max-steps", "5000", &msg);
	sbuf_free(&msg);
	struct rules *rs = mc_xcalloc(1, sizeof *rs);
	char *report = NULL;
	if (rules_load_text(s, rs, "fuzz.rules", text, cut, &report) && rs->n > 0) {
		s->rules = rs; /* freed with the session */
		session_run(s, "fuzz", text + rest, size - rest);
	} else {
		rules_free(rs);
		free(rs);
	}
	free(report);
	session_free(s);
	return 0;
}
