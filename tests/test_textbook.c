/* test_textbook.c - answers no longer than the book's: every case of
 * tests/textbook_cases.inc is derived, checked equal to the textbook form, and
 * its size (leaves) compared with the textbook's. At most 1.5 times as long,
 * and no longer for at least 80 % of the cases; the distribution is printed.
 * (Issue 12 asks for 90 %. The cases still longer are one leaf longer because
 * SPEC §3 makes the expanded form the default, 2 X^T X θ - 2 X^T y rather than
 * the book's 2 X^T (X θ - y); the engine factors only when that saves a quarter
 * of the leaves. Raising this bound means changing that rule of the SPEC.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "print.h"
#include "testlib.h"

struct tcase {
	const char *source, *input, *textbook;
};

static const struct tcase cases[] = {
#include "textbook_cases.inc"
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

#define MAX_RATIO 1.5
#define SHARE_NO_LONGER 0.80

/* The leaves of matcalc's answer and of the textbook form, in one session (the
 * textbook form's sizes unify with the input's); checks that they are equal. */
static void measure(const struct tcase *c, long *ours, long *book)
{
	char decl[512], expr[512], stmt[1400];
	ts_split_case(c->input, decl, expr, sizeof decl);
	struct tsession t;
	ts_open(&t);
	if (decl[0])
		ck_assert_msg(ts_run(&t, decl), "%s: %s", decl, t.err);
	char *err = NULL;
	struct expr *call = ts_resolve(&t, expr, &err);
	ck_assert_msg(call != NULL, "%s: %s", expr, err);
	struct expr *res = diff_derive(t.s, call);
	ck_assert_msg(res != NULL, "%s: %s", expr, t.s->mc->err.msg);
	struct expr *tb = ts_resolve(&t, c->textbook, &err);
	ck_assert_msg(tb != NULL, "%s: %s", c->textbook, err);
	*ours = expr_leaves(res);
	*book = expr_leaves(tb);
	char *shown = print_str(t.s->mc, res, PRINT_PLAIN);
	/* the textbook form is the same function (random instances, or the canonical form) */
	snprintf(stmt, sizeof stmt, "check(%s = %s)", expr, c->textbook);
	ts_reset(&t);
	bool ok = ts_run(&t, stmt);
	ts_flush(&t);
	ck_assert_msg(ok && strncmp(t.out, "equal", 5) == 0, "%s (%s): %s is not %s: %s%s",
		      c->input, c->source, shown, c->textbook, t.out, t.err);
	free(shown);
	ts_close(&t);
}

START_TEST(test_no_longer_than_the_book)
{
	int no_longer = 0, worst = 0;
	double worst_ratio = 0;
	int buckets[5] = {0}; /* ratio < 0.75, < 1, = 1, <= 1.25, more */
	for (int i = 0; i < NCASES; i++) {
		long ours, book;
		measure(&cases[i], &ours, &book);
		double r = (double)ours / (double)book;
		if (ours <= book)
			no_longer++;
		buckets[r < 0.75 ? 0 : r < 1 ? 1 : r == 1 ? 2 : r <= 1.25 ? 3 : 4]++;
		if (r > worst_ratio) {
			worst_ratio = r;
			worst = i;
		}
		if (ours > book)
			fprintf(stderr, "longer than the book: %s (%s): %ld leaves, the book %ld\n",
				cases[i].input, cases[i].source, ours, book);
	}
	fprintf(stderr,
		"output size against the textbook, %d cases: shorter than 0.75x %d, shorter %d, "
		"as long %d, up to 1.25x %d, longer %d; no longer than the book: %d (%.0f %%); "
		"worst %.2fx (%s)\n",
		NCASES, buckets[0], buckets[1], buckets[2], buckets[3], buckets[4], no_longer,
		100.0 * no_longer / NCASES, worst_ratio, cases[worst].input);
	ck_assert_msg(worst_ratio <= MAX_RATIO, "%s is %.2f times as long as the book's answer",
		      cases[worst].input, worst_ratio);
	ck_assert_msg(no_longer >= SHARE_NO_LONGER * NCASES,
		      "only %d of %d answers are no longer than the book's", no_longer, NCASES);
}
END_TEST

static Suite *textbook_suite(void)
{
	Suite *s = suite_create("textbook");
	TCase *tc = tcase_create("size");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_no_longer_than_the_book);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return ts_run_suite(textbook_suite()); }
