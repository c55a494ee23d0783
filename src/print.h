/* print.h - plain-text and LaTeX forms of expressions. */
#ifndef PRINT_H
#define PRINT_H

#include "expr.h"

enum print_style {
	PRINT_PLAIN,  /* the input language, ASCII operators: parses back */
	PRINT_LATEX,  /* MC/slide notation */
	PRINT_PRETTY, /* Unicode for the terminal (X⁻ᵀ, ‖x‖², ∇_θ): parses back too */
};

/* Appends the form of e to b. Plain output parses back to the same node;
 * mc->ascii selects ASCII names for Greek letters, mc->precision the digits. */
void print_expr(struct mc *mc, struct sbuf *b, const struct expr *e, enum print_style style);
/* Returns an owned string (free it). */
char *print_str(struct mc *mc, const struct expr *e, enum print_style style);
/* Lets the layers below printing print nodes in their error messages (mc->print_plain). */
void print_install(struct mc *mc);
/* A number as the plain printer writes it (%.Ng), into buf. */
void print_number(struct mc *mc, char *buf, size_t n, double v);
/* A symbol name as printed (ASCII when mc->ascii). */
void print_name(struct mc *mc, struct sbuf *b, const char *name);
/* A defined name (f = ...) in a style: in LaTeX an italic scalar (\varphi, \mathrm{loss}). */
void print_name_style(struct mc *mc, struct sbuf *b, const char *name, enum print_style style);

#endif
