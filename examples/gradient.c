/* gradient.c - libmatcalc from the outside: the course's first gradient.
 *
 * Build against an installed libmatcalc:
 *     cc gradient.c $(pkg-config --cflags --libs matcalc) -o gradient
 * Run: ./gradient    (prints the gradient in plain text and in LaTeX) */
#include <stdio.h>

#include <matcalc.h>

int main(void)
{
	struct matcalc *m = matcalc_open();
	if (!m) {
		fputs("gradient: out of memory\n", stderr);
		return 2;
	}
	int rc = 0;
	char *plain = NULL, *latex = NULL;
	/* Θ and X are matrices by their capital initials; no declaration needed */
	const char *f = "grad(tr(Θ^T X X^T Θ), Θ)";
	if (matcalc_derive(m, f, MATCALC_PLAIN, &plain) != MATCALC_OK ||
	    matcalc_derive(m, f, MATCALC_LATEX, &latex) != MATCALC_OK) {
		fprintf(stderr, "gradient: %d:%d: %s\n", matcalc_errline(m), matcalc_errcol(m),
			matcalc_errmsg(m));
		rc = 2;
	} else {
		printf("%s\n%s\n", plain, latex);
	}
	matcalc_free(plain);
	matcalc_free(latex);
	matcalc_close(m);
	return rc;
}
