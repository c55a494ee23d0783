/* derivation.c - --check-derivation: a written derivation (LaTeX blocks or plain
 * `= ...` lines) checked step by step, each verdict with the file's line. */
#include "derivation.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "statement.h"
#include "verify.h"

/* A piece of a row: the text left of the first '=' (a head: f(θ), ∇_θ f,
 * d f) or one right side (a step). Offsets index the file's text. */
enum item_kind { ITEM_HEAD, ITEM_RHS };

struct item {
	enum item_kind kind;
	size_t off, len;
};

/* What the next right side is checked against. */
enum pending { NEXT_STEP, NEXT_DEFINE, NEXT_GRADIENT, NEXT_DIFFERENTIAL };

struct deriv {
	struct session *s;
	const char *where, *src;
	size_t len;
	char *t; /* the text with comments, &, \\ and environment markers blanked */
	struct item *items;
	int nitems, capitems;
	/* parses kept alive: the syntax of earlier lines is used by later steps */
	struct parse **parses;
	char **bufs;
	int nparses;
	/* the derivation being read */
	struct syn *f;	  /* the function's expression, or NULL */
	struct syn *fvar; /* the argument of f(θ), or NULL */
	struct syn *prev; /* what the next step must equal */
	struct syn *var;  /* the variable of a gradient head */
	enum pending next;
	int steps, wrong, errors, first_wrong_line;
};

static void add_item(struct deriv *d, enum item_kind k, size_t off, size_t len)
{
	if (d->nitems == d->capitems) {
		d->capitems = d->capitems ? 2 * d->capitems : 32;
		d->items = mc_xrealloc(d->items, (size_t)d->capitems * sizeof *d->items);
	}
	d->items[d->nitems++] = (struct item){k, off, len};
}

static void blank(char *t, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (t[i] != '\n')
			t[i] = ' ';
}

static int line_of(const struct deriv *d, size_t off)
{
	int line, col;
	loc_linecol(d->src, d->len, (int)off, &line, &col);
	return line;
}

/* Reports an error at the file's offset off..off+n (line:col and a caret). */
static void report_at(struct deriv *d, size_t off, size_t n, const char *msg)
{
	loc_report(d->s->err, d->where, d->src, d->len, (struct loc){(int)off, (int)(off + n)},
		   msg);
	d->errors++;
	if (d->s->status < 2)
		d->s->status = 2;
}

/* ---- reading the file into items ---- */

static bool starts(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

/* The offset just past a {...} group starting at p (p at '{'), or p. */
static size_t skip_group(const char *t, size_t p, size_t len)
{
	if (p >= len || t[p] != '{')
		return p;
	int depth = 0;
	for (size_t i = p; i < len; i++) {
		depth += t[i] == '{';
		depth -= t[i] == '}';
		if (depth == 0)
			return i + 1;
	}
	return len;
}

/* Runs `% matcalc: STATEMENT` (or `# matcalc:`) comment lines and blanks every
 * comment. A declaration applies to the whole file. */
static void comments(struct deriv *d, bool latex)
{
	char *t = d->t;
	size_t i = 0;
	while (i < d->len) {
		size_t eol = i;
		while (eol < d->len && t[eol] != '\n')
			eol++;
		for (size_t j = i; j < eol; j++) {
			bool c = latex ? t[j] == '%' && (j == i || t[j - 1] != '\\') : t[j] == '#';
			if (!c)
				continue;
			size_t k = j + 1;
			while (k < eol && (t[k] == ' ' || t[k] == '\t'))
				k++;
			if (starts(t + k, t + eol, "matcalc:")) {
				k += 8;
				struct sbuf where = {0};
				sbuf_printf(&where, "%s:%d", d->where, line_of(d, j));
				if (!session_run(d->s, where.s, d->src + k, eol - k))
					d->errors++;
				sbuf_free(&where);
			}
			blank(t, j, eol);
			break;
		}
		i = eol + 1;
	}
}

/* Splits one row (from..to) at its top-level '=' signs into a head and steps;
 * a row without '=' continues the previous right side (a long line broken). */
static void split_row(struct deriv *d, size_t from, size_t to)
{
	const char *t = d->t;
	size_t eq[64];
	int neq = 0, depth = 0;
	for (size_t i = from; i < to; i++) {
		char c = t[i];
		if (c == '(' || c == '[' || c == '{')
			depth++;
		else if ((c == ')' || c == ']' || c == '}') && depth > 0)
			depth--;
		else if (c == '=' && depth == 0 && neq < 64)
			eq[neq++] = i;
	}
	size_t a = from;
	while (a < to && isspace((unsigned char)t[a]))
		a++;
	if (a == to)
		return;
	if (neq == 0) {
		if (d->nitems && d->items[d->nitems - 1].kind == ITEM_RHS) {
			struct item *it = &d->items[d->nitems - 1];
			it->len = to - it->off;
		} else {
			add_item(d, ITEM_HEAD, a, to - a); /* an expression alone: the start */
		}
		return;
	}
	if (eq[0] > a) {
		bool empty = true;
		for (size_t i = a; i < eq[0]; i++)
			empty &= isspace((unsigned char)t[i]) != 0;
		if (!empty)
			add_item(d, ITEM_HEAD, a, eq[0] - a);
	}
	for (int k = 0; k < neq; k++) {
		size_t s = eq[k] + 1, e = k + 1 < neq ? eq[k + 1] : to;
		add_item(d, ITEM_RHS, s, e - s);
	}
}

/* Blanks what is markup, not mathematics, inside a LaTeX block and splits it
 * into rows at \\. */
static void latex_block(struct deriv *d, size_t from, size_t to)
{
	char *t = d->t;
	static const char *const drop_group[] = {"\\label", "\\tag*", "\\tag", "\\begin", "\\end",
						 "\\intertext", NULL};
	static const char *const drop[] = {"\\nonumber", "\\notag", "\\displaystyle", "\\left.",
					   "\\right.", NULL};
	for (size_t i = from; i < to; i++) {
		if (t[i] == '&') {
			t[i] = ' ';
			continue;
		}
		if (t[i] != '\\')
			continue;
		bool done = false;
		for (int k = 0; drop_group[k] && !done; k++)
			if (starts(t + i, t + to, drop_group[k])) {
				size_t e = i + strlen(drop_group[k]);
				while (e < to && t[e] == ' ')
					e++;
				e = skip_group(t, e, to);
				/* \begin{array}{cc}: a second group */
				blank(t, i, e);
				done = true;
			}
		for (int k = 0; drop[k] && !done; k++)
			if (starts(t + i, t + to, drop[k])) {
				blank(t, i, i + strlen(drop[k]));
				done = true;
			}
	}
	/* rows end at \\ (with an optional [2pt]) */
	size_t row = from;
	for (size_t i = from; i + 1 < to; i++) {
		if (t[i] == '\\' && t[i + 1] == '\\') {
			size_t e = i + 2;
			if (e < to && t[e] == '[')
				while (e < to && t[e] != ']')
					e++;
			if (e < to && t[e] == ']')
				e++;
			blank(t, i, e);
			split_row(d, row, i);
			row = e;
			i = e - 1;
		}
	}
	/* a trailing '.' or ',' ends the sentence, not the formula */
	size_t e = to;
	while (e > row && isspace((unsigned char)t[e - 1]))
		e--;
	if (e > row && (t[e - 1] == '.' || t[e - 1] == ','))
		t[e - 1] = ' ';
	split_row(d, row, to);
}

static const char *const envs[] = {"align*", "align", "equation*", "equation", "gather*",
				   "gather", "multline*", "multline", NULL};

/* LaTeX: the blocks; prose between them is not read. */
static bool read_latex(struct deriv *d)
{
	const char *t = d->t;
	size_t len = d->len;
	bool any = false;
	for (size_t i = 0; i < len; i++) {
		size_t body = 0, end = 0, after = 0;
		if (starts(t + i, t + len, "\\begin{")) {
			for (int k = 0; envs[k]; k++) {
				char open[40], close[40];
				snprintf(open, sizeof open, "\\begin{%s}", envs[k]);
				snprintf(close, sizeof close, "\\end{%s}", envs[k]);
				if (!starts(t + i, t + len, open))
					continue;
				body = i + strlen(open);
				const char *c = strstr(t + body, close);
				end = c ? (size_t)(c - t) : len;
				after = c ? end + strlen(close) : len;
				break;
			}
		} else if (starts(t + i, t + len, "\\[")) {
			body = i + 2;
			const char *c = strstr(t + body, "\\]");
			end = c ? (size_t)(c - t) : len;
			after = c ? end + 2 : len;
		} else if (starts(t + i, t + len, "$$")) {
			body = i + 2;
			const char *c = strstr(t + body, "$$");
			end = c ? (size_t)(c - t) : len;
			after = c ? end + 2 : len;
		}
		if (!body)
			continue;
		blank(d->t, i, body);
		blank(d->t, end, after);
		latex_block(d, body, end);
		any = true;
		i = after - 1;
	}
	return any;
}

/* Plain text: one row a line; a line starting with '=' is a step. */
static void read_plain(struct deriv *d)
{
	const char *t = d->t;
	size_t i = 0;
	while (i < d->len) {
		size_t eol = i;
		while (eol < d->len && t[eol] != '\n')
			eol++;
		size_t a = i;
		while (a < eol && isspace((unsigned char)t[a]))
			a++;
		if (a < eol && !starts(t + a, t + eol, "let "))
			split_row(d, a, eol);
		i = eol + 1;
	}
}

/* ---- checking ---- */

/* Parses the file's text off..off+len as one expression; NULL after
 * reporting the error. */
static struct syn *parse_piece(struct deriv *d, size_t off, size_t len)
{
	char *buf = mc_xmalloc(len + 1);
	memcpy(buf, d->t + off, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' '; /* one formula across the file's lines */
	struct parse *p = mc_xmalloc(sizeof *p);
	bool ok = parse_text(p, d->s->mc, buf, len, false);
	d->parses = mc_xrealloc(d->parses, (size_t)(d->nparses + 1) * sizeof *d->parses);
	d->bufs = mc_xrealloc(d->bufs, (size_t)(d->nparses + 1) * sizeof *d->bufs);
	d->parses[d->nparses] = p;
	d->bufs[d->nparses++] = buf;
	if (!ok) {
		size_t at = (size_t)(p->errloc.first < 0 ? 0 : p->errloc.first);
		if (at > len)
			at = len;
		report_at(d, off + at, 1, p->err ? p->err : "syntax error");
		return NULL;
	}
	if (p->nitems != 1 || p->items[0]->kind != STMT_EXPR) {
		report_at(d, off, len, "a line of a derivation is one expression");
		return NULL;
	}
	/* the piece's locations are its own: the caller adds off */
	return p->items[0]->kids[0];
}

/* After a head `\nabla_{θ} f`, `∇_θ f`, `grad(f, θ)`, `\frac{\partial f}{\partial θ}`:
 * the variable's text (off, len), or false when it names none. */
static bool gradient_var(const char *t, size_t a, size_t e, size_t *vo, size_t *vl)
{
	size_t p = a;
	if (starts(t + p, t + e, "\\nabla"))
		p += 6;
	else if (starts(t + p, t + e, "\xe2\x88\x87"))
		p += 3;
	else if (starts(t + p, t + e, "\\frac{\\partial") || starts(t + p, t + e, "\\partial")) {
		const char *q = NULL;
		for (size_t i = e; i > p + 8; i--)
			if (starts(t + i - 8, t + e, "\\partial")) {
				q = t + i;
				break;
			}
		if (!q || (size_t)(q - t) <= p + 14)
			return false;
		size_t s = (size_t)(q - t), en = s;
		while (en < e && t[en] != '}')
			en++;
		*vo = s;
		*vl = en - s;
		return true;
	} else if (starts(t + p, t + e, "grad(")) {
		size_t c = e;
		while (c > p && t[c - 1] != ',')
			c--;
		size_t r = e;
		while (r > c && t[r - 1] != ')')
			r--;
		if (c == p || r <= c)
			return false;
		*vo = c;
		*vl = r - 1 - c;
		return true;
	} else {
		return false;
	}
	while (p < e && t[p] == ' ')
		p++;
	if (p >= e || t[p] != '_') {
		*vl = 0; /* ∇ f: the variable of f(θ) */
		return true;
	}
	p++;
	while (p < e && t[p] == ' ')
		p++;
	if (p < e && t[p] == '{') {
		size_t q = skip_group(t, p, e);
		*vo = p + 1;
		*vl = q - 1 - (p + 1);
	} else if (p < e && t[p] == '\\') {
		size_t q = p + 1;
		while (q < e && isalpha((unsigned char)t[q]))
			q++;
		*vo = p;
		*vl = q - p;
	} else {
		size_t q = p + 1;
		while (q < e && ((unsigned char)t[q] & 0xC0) == 0x80)
			q++;
		*vo = p;
		*vl = q - p;
	}
	return true;
}

/* `d f`, `df`, `\mathrm{d} f`, `\mathrm d f`, `\operatorname{d} f`, `{\rm d} f` */
static bool is_differential(const char *t, size_t a, size_t e)
{
	static const char *const ds[] = {"\\mathrm{d}", "\\mathrm d", "\\operatorname{d}",
					 "\\text{d}", "{\\rm d}", "d", NULL};
	for (int k = 0; ds[k]; k++)
		if (starts(t + a, t + e, ds[k])) {
			size_t p = a + strlen(ds[k]);
			if (p >= e)
				return false;
			/* d followed by a space or a name's first letter (df, d f, d\ell) */
			return ds[k][0] == '\\' || ds[k][0] == '{' || t[p] == ' ' ||
			       (p + 1 <= e && (isalpha((unsigned char)t[p]) || t[p] == '\\') &&
				(p + 1 == e || t[p + 1] == ' ' || t[p + 1] == '(' || t[p + 1] == '\\'));
		}
	return false;
}

static bool known_function(const char *name)
{
	return expr_op_by_name(name) >= 0 || strcmp(name, "grad") == 0 ||
	       strcmp(name, "hess") == 0 || strcmp(name, "d") == 0;
}

static void head(struct deriv *d, const struct item *it)
{
	const char *t = d->t;
	size_t a = it->off, e = it->off + it->len;
	while (e > a && isspace((unsigned char)t[e - 1]))
		e--;
	size_t vo = 0, vl = 0;
	if (gradient_var(t, a, e, &vo, &vl)) {
		if (!d->f) {
			report_at(d, a, e - a, "a gradient line needs the function first: f(θ) = ...");
			d->next = NEXT_STEP;
			return;
		}
		d->var = vl ? parse_piece(d, vo, vl) : d->fvar;
		if (!d->var) {
			if (!vl)
				report_at(d, a, e - a,
					  "say which variable: \\nabla_\\theta f, or name the "
					  "function f(\\theta)");
			d->next = NEXT_STEP;
			return;
		}
		d->next = NEXT_GRADIENT;
		return;
	}
	if (is_differential(t, a, e)) {
		if (!d->f) {
			report_at(d, a, e - a, "a differential line needs the function first");
			d->next = NEXT_STEP;
			return;
		}
		d->next = NEXT_DIFFERENTIAL;
		return;
	}
	struct syn *h = parse_piece(d, a, e - a);
	if (!h) {
		d->next = NEXT_DEFINE; /* the function's line that follows still starts */
		d->fvar = NULL;
		return;
	}
	if ((h->kind == SYN_IDENT || (h->kind == SYN_CALL && !known_function(h->name))) &&
	    !session_decl(d->s, h->name)) {
		/* f, f(θ), L(w): the function's name */
		d->fvar = h->kind == SYN_CALL && h->n == 1 ? h->kids[0] : NULL;
		d->next = NEXT_DEFINE;
		return;
	}
	/* an expression: it is the function, and what the next step must equal */
	d->f = d->prev = h;
	d->fvar = NULL;
	d->next = NEXT_STEP;
}

static void print_indented(FILE *out, const char *text)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(out, "  %.*s\n", (int)n, p);
		p += n + (nl != NULL);
	}
}

static void step(struct deriv *d, const struct item *it)
{
	struct session *s = d->s;
	struct mc *mc = s->mc;
	size_t a = it->off;
	while (a < it->off + it->len && isspace((unsigned char)d->t[a]))
		a++;
	size_t n = it->off + it->len - a;
	struct syn *claim = parse_piece(d, it->off, it->len);
	enum pending what = d->next;
	d->next = NEXT_STEP;
	if (!claim)
		return; /* the next step compares with the last readable line */
	if (what == NEXT_DEFINE) {
		d->f = d->prev = claim;
		return;
	}
	if (!d->prev) {
		report_at(d, a, n, "a step needs a line before it: f(θ) = ... first");
		return;
	}
	struct syn *kids[2];
	struct syn problem = {.kind = SYN_CALL, .kids = kids, .loc = claim->loc};
	const char *label = "step";
	if (what == NEXT_GRADIENT) {
		problem.name = "grad";
		problem.n = 2;
		kids[0] = d->f;
		kids[1] = d->var;
		label = "gradient";
	} else if (what == NEXT_DIFFERENTIAL) {
		problem.name = "d";
		problem.n = 1;
		kids[0] = d->f;
		label = "differential";
	}
	struct verify_report r = {0};
	int line = line_of(d, a);
	if (what == NEXT_DIFFERENTIAL && d->fvar) {
		struct expr *v = session_resolve(s, d->fvar);
		s->check_wrt = v && v->op == OP_SYM ? v->decl : NULL;
		mc_clear_error(mc);
	}
	bool ok = verify_claim(s, what == NEXT_STEP ? d->prev : &problem, claim, &r);
	s->check_wrt = NULL;
	if (!ok) {
		/* the claim's locations are relative to its own text */
		size_t at = a;
		if (mc->err.has_loc && mc->err.loc.first >= 0 && (size_t)mc->err.loc.first <= it->len)
			at = it->off + (size_t)mc->err.loc.first;
		report_at(d, at, 1, mc->err.msg ? mc->err.msg : "cannot check this line");
		mc_clear_error(mc);
		return;
	}
	d->steps++;
	fprintf(s->out, "%s:%d: %s: %s\n", d->where, line, label,
		r.equal ? "equal" : "not equal");
	if (!r.equal) {
		d->wrong++;
		if (!d->first_wrong_line)
			d->first_wrong_line = line;
		char *buf = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&buf, &blen);
		if (!m)
			mc_out_of_memory(0);
		verify_report_print(s, &r, m);
		fclose(m);
		/* the first line repeats "not equal" */
		const char *rest = strchr(buf, '\n');
		if (rest && rest[1])
			print_indented(s->out, rest + 1);
		free(buf);
		if (s->status < 1)
			s->status = 1;
	}
	verify_report_clear(&r);
	d->prev = claim;
}

bool derivation_check(struct session *s, const char *where, const char *text, size_t len)
{
	struct deriv d = {.s = s, .where = where, .src = text, .len = len};
	d.t = mc_xmalloc(len + 1);
	memcpy(d.t, text, len);
	d.t[len] = '\0';
	/* NUL bytes would end the searches early: they are not mathematics */
	for (size_t i = 0; i < len; i++)
		if (!d.t[i])
			d.t[i] = ' ';
	bool latex = strstr(d.t, "\\begin{") || strstr(d.t, "\\[") || strstr(d.t, "$$");
	const char *old_where = s->where, *old_src = s->src;
	size_t old_len = s->srclen;
	comments(&d, latex);
	if (!latex || !read_latex(&d))
		read_plain(&d);
	for (int i = 0; i < d.nitems; i++) {
		rewrite_memo_clear(s);
		if (d.items[i].kind == ITEM_HEAD)
			head(&d, &d.items[i]);
		else
			step(&d, &d.items[i]);
		rewrite_memo_clear(s);
		fflush(s->out);
	}
	s->where = old_where;
	s->src = old_src;
	s->srclen = old_len;
	if (d.steps == 0 && d.errors == 0) {
		fprintf(s->err, "matcalc: %s: error: no derivation found: write f(θ) = ... and then "
				"lines = ... (or a LaTeX align block)\n",
			where);
		s->status = 2;
		d.errors++;
	} else {
		if (d.steps == 0)
			fprintf(s->out, "%s: no step checked", where);
		else if (d.wrong)
			fprintf(s->out, "%s: %d of %d steps wrong, the first at %s:%d", where,
				d.wrong, d.steps, where, d.first_wrong_line);
		else
			fprintf(s->out, "%s: %d step%s, all equal", where, d.steps,
				d.steps == 1 ? "" : "s");
		if (d.errors)
			fprintf(s->out, "; %d line%s could not be read", d.errors,
				d.errors == 1 ? "" : "s");
		fputc('\n', s->out);
	}
	for (int i = 0; i < d.nparses; i++) {
		parse_free(d.parses[i]);
		free(d.parses[i]);
		free(d.bufs[i]);
	}
	free(d.parses);
	free(d.bufs);
	free(d.items);
	free(d.t);
	return d.errors == 0;
}
