/* grade.c - `matcalc grade PROBLEMS SUBMISSIONS...`: every answer checked against its
 * part's problem, partial credit by the kind of the diagnosis, a table, JSON or
 * Gradescope's results.json. */
#include "grade.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "rewrite.h"
#include "statement.h"
#include "verify.h"

#define GRADE_MAX_PARTIALS 8

/* Partial credit: the points an answer gets when its diagnosis is of a kind. */
enum partial_kind {
	PARTIAL_TRANSPOSE, /* the transpose of the right answer */
	PARTIAL_NEGATIVE,  /* its negative */
	PARTIAL_FACTOR,	   /* a positive multiple (a lost factor 2) */
	PARTIAL_MULTIPLE,  /* any multiple, the negative included */
	PARTIAL_SYMMETRIC, /* right only if a matrix were symmetric */
	PARTIAL_TERM,	   /* one term missing, extra, wrongly weighted or wrong */
	PARTIAL_CONDITION, /* right only under an extra condition (X square) */
	PARTIAL_SHAPE,	   /* the wrong shape, not a transpose */
};

static const char *const partial_names[] = {"transpose", "negative", "factor",	  "multiple",
					    "symmetric", "term",     "condition", "shape"};

struct partial {
	enum partial_kind kind;
	double points;
};

struct part {
	char *name, *title;
	double points;
	char *lets;	     /* the part's own declarations, run before each answer */
	char *problem;	     /* its text */
	struct parse parse;  /* the problem parsed */
	struct syn *psyn;    /* the problem's expression */
	char *visibility;    /* Gradescope's: visible, hidden, after_due_date, after_published */
	struct partial partials[GRADE_MAX_PARTIALS];
	int npartials;
	int line;
};

struct problems {
	const char *path;
	char *text;
	size_t len;
	char *global; /* declarations for every part */
	struct part *parts;
	int nparts;
};

/* How one answer was graded. */
enum answer_status { ANS_CORRECT, ANS_PARTIAL, ANS_WRONG, ANS_UNREADABLE, ANS_MISSING };
static const char *const status_names[] = {"correct", "partial", "wrong", "unreadable", "missing"};

struct answer {
	char *text; /* as the student wrote it (NULL: missing) */
	int line;   /* in the submission file */
	enum answer_status status;
	double score;
	char *message; /* the diagnosis, the error, or NULL */
	char *correct; /* the correct answer (not with --hide-answer), or NULL */
	int err_line, err_col;
};

struct submission {
	const char *path;
	char *name; /* from a `# name:` line, else the file's name */
	bool unreadable;
	char *error;
	struct answer *answers; /* one per part */
	double score;
};

/* ---- small text helpers ---- */

static char *read_file(const char *path, size_t *len, char **why)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		struct sbuf b = {0};
		sbuf_printf(&b, "cannot open %s: %s", path, strerror(errno));
		*why = sbuf_take(&b);
		return NULL;
	}
	struct sbuf b = {0};
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_addn(&b, buf, n);
	fclose(f);
	*len = b.len;
	if (!b.s)
		sbuf_add(&b, "");
	return sbuf_take(&b);
}

static char *trimmed(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	struct sbuf b = {0};
	sbuf_addn(&b, s, n);
	if (!b.s)
		sbuf_add(&b, "");
	return sbuf_take(&b);
}

static bool same_label(const char *a, const char *b)
{
	if (strncasecmp(a, "part ", 5) == 0)
		a += 5;
	if (strncasecmp(b, "part ", 5) == 0)
		b += 5;
	return strcasecmp(a, b) == 0;
}

/* ---- the problem file ---- */

static void problems_free(struct problems *pr)
{
	for (int i = 0; i < pr->nparts; i++) {
		struct part *p = &pr->parts[i];
		free(p->name);
		free(p->title);
		free(p->lets);
		free(p->problem);
		free(p->visibility);
		parse_free(&p->parse);
	}
	free(pr->parts);
	free(pr->global);
	free(pr->text);
}

static bool problem_error(struct session *s, const struct problems *pr, int line, const char *msg)
{
	fprintf(s->err, "matcalc: %s:%d: error: %s\n", pr->path, line, msg);
	s->status = 2;
	return false;
}

/* [NAME] POINTS [points] [: TITLE] */
static bool part_header(struct session *s, struct problems *pr, const char *l, int line)
{
	const char *close = strchr(l, ']');
	if (!close)
		return problem_error(s, pr, line, "a part starts with [NAME] POINTS, e.g. [a] 4 points");
	pr->parts = mc_xrealloc(pr->parts, (size_t)(pr->nparts + 1) * sizeof *pr->parts);
	struct part *p = &pr->parts[pr->nparts++];
	memset(p, 0, sizeof *p);
	p->line = line;
	char *name = trimmed(l + 1, (size_t)(close - l - 1));
	p->name = mc_xstrdup(strncasecmp(name, "part ", 5) == 0 ? name + 5 : name);
	free(name);
	char *end;
	p->points = strtod(close + 1, &end);
	if (end == close + 1 || !(p->points > 0))
		return problem_error(s, pr, line, "a part needs its points: [a] 4 points");
	while (*end == ' ')
		end++;
	if (strncmp(end, "points", 6) == 0)
		end += 6;
	else if (strncmp(end, "point", 5) == 0)
		end += 5;
	while (*end == ' ' || *end == ':')
		end++;
	p->title = trimmed(end, strlen(end));
	p->visibility = mc_xstrdup("visible");
	return true;
}

static bool part_partial(struct session *s, struct problems *pr, struct part *p, const char *v,
			 int line)
{
	for (size_t k = 0; k < sizeof partial_names / sizeof *partial_names; k++) {
		size_t n = strlen(partial_names[k]);
		if (strncmp(v, partial_names[k], n) != 0 || (v[n] && v[n] != ' '))
			continue;
		char *end;
		double pts = strtod(v + n, &end);
		if (end == v + n || pts < 0 || pts > p->points)
			return problem_error(s, pr, line,
					     "partial: KIND POINTS, with at most the part's points");
		if (p->npartials == GRADE_MAX_PARTIALS)
			return problem_error(s, pr, line, "too many partial lines");
		p->partials[p->npartials++] = (struct partial){(enum partial_kind)k, pts};
		return true;
	}
	return problem_error(s, pr, line,
			     "partial credit is one of: transpose, negative, factor, multiple, "
			     "symmetric, term, condition, shape (then the points)");
}

static bool problems_read(struct session *s, struct problems *pr)
{
	char *why = NULL;
	pr->text = read_file(pr->path, &pr->len, &why);
	if (!pr->text) {
		fprintf(s->err, "matcalc: error: %s\n", why);
		free(why);
		s->status = 2;
		return false;
	}
	struct sbuf global = {0};
	int line = 0;
	for (char *l = pr->text; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		line++;
		char *t = trimmed(l, n);
		char *hash = t[0] == '#' ? t : NULL;
		struct part *p = pr->nparts ? &pr->parts[pr->nparts - 1] : NULL;
		bool ok = true;
		if (!*t || hash) {
			/* blank or a comment */
		} else if (t[0] == '[') {
			ok = part_header(s, pr, t, line);
		} else if (strncmp(t, "let ", 4) == 0 || strncmp(t, "let\t", 4) == 0) {
			struct sbuf *b = &global, pb = {0};
			if (p) {
				sbuf_add(&pb, p->lets ? p->lets : "");
				b = &pb;
			}
			sbuf_add(b, t);
			sbuf_add(b, "\n");
			if (p) {
				free(p->lets);
				p->lets = sbuf_take(&pb);
			}
		} else if (p && strncmp(t, "problem:", 8) == 0) {
			free(p->problem);
			p->problem = trimmed(t + 8, strlen(t + 8));
		} else if (p && strncmp(t, "partial:", 8) == 0) {
			char *v = trimmed(t + 8, strlen(t + 8));
			ok = part_partial(s, pr, p, v, line);
			free(v);
		} else if (p && strncmp(t, "visibility:", 11) == 0) {
			free(p->visibility);
			p->visibility = trimmed(t + 11, strlen(t + 11));
		} else if (p && strncmp(t, "title:", 6) == 0) {
			free(p->title);
			p->title = trimmed(t + 6, strlen(t + 6));
		} else {
			ok = problem_error(s, pr, line,
					   p ? "a part has lines problem:, partial:, title:, "
					       "visibility: and let"
					     : "before the first [part] only let declarations");
		}
		free(t);
		if (!ok) {
			sbuf_free(&global);
			return false;
		}
		l = nl ? nl + 1 : NULL;
	}
	pr->global = global.s ? sbuf_take(&global) : mc_xstrdup("");
	if (!pr->nparts)
		return problem_error(s, pr, line, "no parts: write [a] 4 points, then problem: ...");
	for (int i = 0; i < pr->nparts; i++) {
		struct part *p = &pr->parts[i];
		if (!p->problem)
			return problem_error(s, pr, p->line, "this part has no problem: line");
		if (!parse_text(&p->parse, s->mc, p->problem, strlen(p->problem), false) ||
		    p->parse.nitems != 1 || p->parse.items[0]->kind != STMT_EXPR) {
			struct sbuf m = {0};
			sbuf_printf(&m, "part %s: the problem does not read: %s", p->name,
				    p->parse.err ? p->parse.err : "one expression expected");
			problem_error(s, pr, p->line, m.s);
			sbuf_free(&m);
			return false;
		}
		p->psyn = p->parse.items[0]->kids[0];
	}
	return true;
}

/* ---- submissions ---- */

/* The answer as the student wrote it, made checkable: $...$, \[ \] and a
 * leading `\nabla_θ f =` (the last top-level '=') removed, a final '.' dropped. */
static char *answer_text(const char *raw)
{
	struct sbuf b = {0};
	for (const char *p = raw; *p; p++) {
		if (*p == '$')
			continue;
		if (p[0] == '\\' && (p[1] == '[' || p[1] == ']')) {
			p++;
			continue;
		}
		sbuf_addn(&b, p, 1);
	}
	char *t = b.s ? sbuf_take(&b) : mc_xstrdup("");
	int depth = 0;
	char *last = NULL;
	for (char *p = t; *p; p++) {
		if (*p == '(' || *p == '[' || *p == '{')
			depth++;
		else if ((*p == ')' || *p == ']' || *p == '}') && depth > 0)
			depth--;
		else if (*p == '=' && depth == 0)
			last = p;
	}
	char *r = trimmed(last ? last + 1 : t, strlen(last ? last + 1 : t));
	free(t);
	size_t n = strlen(r);
	if (n && (r[n - 1] == '.' || r[n - 1] == ','))
		r[n - 1] = '\0';
	for (char *p = r; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return r;
}

static void submission_read(struct submission *sub, const struct problems *pr)
{
	size_t len;
	char *why = NULL;
	char *text = read_file(sub->path, &len, &why);
	sub->answers = mc_xmalloc((size_t)pr->nparts * sizeof *sub->answers);
	memset(sub->answers, 0, (size_t)pr->nparts * sizeof *sub->answers);
	const char *base = strrchr(sub->path, '/');
	sub->name = mc_xstrdup(base ? base + 1 : sub->path);
	if (!text) {
		sub->unreadable = true;
		sub->error = why;
		return;
	}
	if (memchr(text, '\0', len)) {
		sub->unreadable = true;
		struct sbuf m = {0};
		sbuf_printf(&m, "%s is not a text file", sub->path);
		sub->error = sbuf_take(&m);
		free(text);
		return;
	}
	int cur = -1, line = 0;
	struct sbuf acc = {0};
	for (char *l = text; l;) {
		char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		line++;
		char *t = trimmed(l, n);
		int label = -1;
		char *rest = NULL;
		if (t[0] == '[' && strchr(t, ']')) {
			char *close = strchr(t, ']');
			char *name = trimmed(t + 1, (size_t)(close - t - 1));
			for (int i = 0; i < pr->nparts; i++)
				if (same_label(name, pr->parts[i].name))
					label = i;
			free(name);
			rest = close + 1;
			if (label < 0)
				cur = -2; /* an unknown part: its lines are skipped */
		} else if (t[0] != '#' && strchr(t, ':')) {
			char *colon = strchr(t, ':');
			char *name = trimmed(t, (size_t)(colon - t));
			for (int i = 0; i < pr->nparts; i++)
				if (same_label(name, pr->parts[i].name))
					label = i;
			free(name);
			rest = colon + 1;
		}
		if (label >= 0) {
			cur = label;
			struct answer *a = &sub->answers[cur];
			free(a->text);
			a->text = trimmed(rest, strlen(rest));
			a->line = line;
		} else if (t[0] == '#') {
			if (strncasecmp(t, "# name:", 7) == 0) {
				free(sub->name);
				sub->name = trimmed(t + 7, strlen(t + 7));
			}
		} else if (cur >= 0 && *t) {
			/* the answer continues on this line */
			struct answer *a = &sub->answers[cur];
			sbuf_add(&acc, a->text);
			if (*a->text)
				sbuf_add(&acc, " ");
			else
				a->line = line;
			sbuf_add(&acc, t);
			free(a->text);
			a->text = sbuf_take(&acc);
		}
		free(t);
		l = nl ? nl + 1 : NULL;
	}
	free(text);
}

static void submission_free(struct submission *sub, int nparts)
{
	for (int i = 0; sub->answers && i < nparts; i++) {
		free(sub->answers[i].text);
		free(sub->answers[i].message);
		free(sub->answers[i].correct);
	}
	free(sub->answers);
	free(sub->name);
	free(sub->error);
}

/* ---- grading one answer ---- */

static bool partial_fits(const struct partial *p, const struct verify_report *r)
{
	switch (p->kind) {
	case PARTIAL_TRANSPOSE:
		return r->kind == DIAG_TRANSPOSE && r->factor == 1;
	case PARTIAL_NEGATIVE:
		return r->kind == DIAG_MULTIPLE && r->factor == -1;
	case PARTIAL_FACTOR:
		return r->kind == DIAG_MULTIPLE && r->factor > 0;
	case PARTIAL_MULTIPLE:
		return r->kind == DIAG_MULTIPLE;
	case PARTIAL_SYMMETRIC:
		return r->kind == DIAG_SYMMETRIC;
	case PARTIAL_TERM:
		return r->kind == DIAG_TERM;
	case PARTIAL_CONDITION:
		return r->kind == DIAG_CONDITION || r->kind == DIAG_UNFIT;
	case PARTIAL_SHAPE:
		return r->kind == DIAG_SHAPE;
	}
	return false;
}

static void grade_answer(struct session *s, struct part *p, struct answer *a)
{
	struct mc *mc = s->mc;
	if (!a->text || !*a->text) {
		a->status = ANS_MISSING;
		a->message = mc_xstrdup("no answer");
		return;
	}
	if (p->lets && !session_run(s, "problem", p->lets, strlen(p->lets))) {
		a->status = ANS_UNREADABLE;
		a->message = mc_xstrdup("the part's declarations failed");
		return;
	}
	char *t = answer_text(a->text);
	struct parse ps;
	bool ok = parse_text(&ps, mc, t, strlen(t), false);
	struct verify_report r = {0};
	if (!ok || ps.nitems != 1 || ps.items[0]->kind != STMT_EXPR) {
		a->status = ANS_UNREADABLE;
		struct sbuf m = {0};
		if (ps.err)
			loc_linecol(t, strlen(t), ps.errloc.first, &a->err_line, &a->err_col);
		sbuf_printf(&m, "cannot read the answer: %s",
			    ps.err ? ps.err : "write one expression");
		a->message = sbuf_take(&m);
		goto out;
	}
	rewrite_memo_clear(s);
	ok = verify_claim(s, p->psyn, ps.items[0]->kids[0], &r);
	rewrite_memo_clear(s);
	if (!ok) {
		a->status = ANS_UNREADABLE;
		struct sbuf m = {0};
		if (mc->err.has_loc)
			loc_linecol(t, strlen(t), mc->err.loc.first, &a->err_line, &a->err_col);
		sbuf_printf(&m, "cannot check the answer: %s", mc->err.msg ? mc->err.msg : "error");
		a->message = sbuf_take(&m);
		mc_clear_error(mc);
		goto out;
	}
	if (r.equal) {
		a->status = ANS_CORRECT;
		a->score = p->points;
		goto out;
	}
	a->status = ANS_WRONG;
	for (int i = 0; i < p->npartials; i++)
		if (partial_fits(&p->partials[i], &r) && p->partials[i].points > a->score) {
			a->score = p->partials[i].points;
			a->status = ANS_PARTIAL;
		}
	a->message = mc_xstrdup(r.diagnosis ? r.diagnosis : "not equal to the right answer");
	if (r.correct && !s->hide_answer)
		a->correct = mc_xstrdup(r.correct);
out:
	verify_report_clear(&r);
	parse_free(&ps);
	free(t);
}

/* ---- output ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v) { fprintf(f, "%.10g", v); }

/* What a student reads about one answer. */
static char *answer_output(const struct answer *a)
{
	struct sbuf b = {0};
	sbuf_add(&b, status_names[a->status]);
	if (a->message)
		sbuf_printf(&b, ": %s", a->message);
	if (a->err_line > 0)
		sbuf_printf(&b, " (line 1 of the answer, column %d)", a->err_col);
	if (a->correct)
		sbuf_printf(&b, "\ncorrect answer: %s", a->correct);
	return sbuf_take(&b);
}

static void print_json(struct session *s, const struct problems *pr, const struct submission *sub)
{
	FILE *f = s->out;
	double max = 0;
	for (int i = 0; i < pr->nparts; i++)
		max += pr->parts[i].points;
	fputs("{\"submission\": ", f);
	json_str(f, sub->path);
	fputs(", \"name\": ", f);
	json_str(f, sub->name);
	fputs(", \"score\": ", f);
	json_num(f, sub->score);
	fputs(", \"max_score\": ", f);
	json_num(f, max);
	if (sub->unreadable) {
		fputs(", \"error\": ", f);
		json_str(f, sub->error);
	}
	fputs(", \"answers\": [", f);
	for (int i = 0; i < pr->nparts; i++) {
		const struct answer *a = &sub->answers[i];
		fputs(i ? ", {\"part\": " : "{\"part\": ", f);
		json_str(f, pr->parts[i].name);
		fputs(", \"status\": ", f);
		json_str(f, sub->unreadable ? "unreadable" : status_names[a->status]);
		fputs(", \"score\": ", f);
		json_num(f, a->score);
		fputs(", \"max_score\": ", f);
		json_num(f, pr->parts[i].points);
		if (a->text) {
			fputs(", \"answer\": ", f);
			json_str(f, a->text);
			fprintf(f, ", \"line\": %d", a->line);
		}
		if (a->message) {
			fputs(", \"diagnosis\": ", f);
			json_str(f, a->message);
		}
		if (a->err_col > 0)
			fprintf(f, ", \"column\": %d", a->err_col);
		if (a->correct) {
			fputs(", \"correct\": ", f);
			json_str(f, a->correct);
		}
		fputs("}", f);
	}
	fputs("]}\n", f);
}

/* Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
 * score, output, tests[] with name, number, score, max_score, status, output, visibility. */
static bool write_gradescope(struct session *s, const struct problems *pr,
			     const struct submission *sub, const char *dir)
{
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		fprintf(s->err, "matcalc: error: cannot create %s: %s\n", dir, strerror(errno));
		return false;
	}
	struct sbuf path = {0};
	sbuf_printf(&path, "%s/results.json", dir);
	FILE *f = fopen(path.s, "w");
	if (!f) {
		fprintf(s->err, "matcalc: error: cannot write %s: %s\n", path.s, strerror(errno));
		sbuf_free(&path);
		return false;
	}
	fputs("{\n  \"score\": ", f);
	json_num(f, sub->score);
	fputs(",\n  \"output\": ", f);
	if (sub->unreadable) {
		struct sbuf m = {0};
		sbuf_printf(&m, "The submission could not be read: %s", sub->error);
		json_str(f, m.s);
		sbuf_free(&m);
	} else {
		json_str(f, "Graded by matcalc: each answer is checked for every size and value "
			    "the problem allows.");
	}
	fputs(",\n  \"tests\": [", f);
	for (int i = 0; i < pr->nparts; i++) {
		const struct part *p = &pr->parts[i];
		const struct answer *a = &sub->answers[i];
		struct sbuf name = {0};
		sbuf_printf(&name, "%s%s%s", p->name, *p->title ? ": " : "", p->title);
		char *out = sub->unreadable ? mc_xstrdup("unreadable submission") : answer_output(a);
		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
		json_str(f, name.s);
		fputs(", \"number\": ", f);
		json_str(f, p->name);
		fputs(", \"score\": ", f);
		json_num(f, a->score);
		fputs(", \"max_score\": ", f);
		json_num(f, p->points);
		fprintf(f, ", \"status\": \"%s\"", a->score >= p->points ? "passed" : "failed");
		fputs(", \"output\": ", f);
		json_str(f, out);
		fputs(", \"visibility\": ", f);
		json_str(f, p->visibility);
		fputs("}", f);
		free(out);
		sbuf_free(&name);
	}
	fputs("\n  ]\n}\n", f);
	bool ok = fclose(f) == 0;
	sbuf_free(&path);
	return ok;
}

static void print_table(struct session *s, const struct problems *pr, struct submission *subs,
			int nsubs)
{
	FILE *f = s->out;
	int w = 10;
	for (int k = 0; k < nsubs; k++) {
		int n = (int)strlen(subs[k].name);
		if (n > w)
			w = n > 40 ? 40 : n;
	}
	double max = 0;
	fprintf(f, "%-*s", w + 2, "submission");
	for (int i = 0; i < pr->nparts; i++) {
		char h[64];
		snprintf(h, sizeof h, "%s (%g)", pr->parts[i].name, pr->parts[i].points);
		fprintf(f, "%-12s", h);
		max += pr->parts[i].points;
	}
	fprintf(f, "total (%g)\n", max);
	for (int k = 0; k < nsubs; k++) {
		fprintf(f, "%-*.*s", w + 2, w, subs[k].name);
		for (int i = 0; i < pr->nparts; i++) {
			const struct answer *a = &subs[k].answers[i];
			char c[32];
			const char *mark = subs[k].unreadable		  ? "!"
					   : a->status == ANS_UNREADABLE ? "?"
					   : a->status == ANS_MISSING	  ? "-"
									  : "";
			snprintf(c, sizeof c, "%g%s", a->score, mark);
			fprintf(f, "%-12s", c);
		}
		fprintf(f, "%g\n", subs[k].score);
	}
	/* what each answer short of full marks got wrong */
	bool header = false;
	for (int k = 0; k < nsubs; k++) {
		if (subs[k].unreadable) {
			if (!header)
				fputs("\n", f);
			header = true;
			fprintf(f, "%s: the submission could not be read: %s\n", subs[k].name,
				subs[k].error);
			continue;
		}
		for (int i = 0; i < pr->nparts; i++) {
			const struct answer *a = &subs[k].answers[i];
			if (a->status == ANS_CORRECT)
				continue;
			if (!header)
				fputs("\n", f);
			header = true;
			fprintf(f, "%s [%s] %g/%g %s", subs[k].name, pr->parts[i].name, a->score,
				pr->parts[i].points, status_names[a->status]);
			if (a->line)
				fprintf(f, " (%s:%d)", subs[k].path, a->line);
			if (a->message)
				fprintf(f, ": %s", a->message);
			fputc('\n', f);
		}
	}
	fputs("\n? unreadable answer, - no answer, ! unreadable submission\n", f);
}

bool grade_run(struct session *s, const char *problems, const char *const *subs, int nsubs)
{
	struct problems pr = {.path = problems};
	if (!problems_read(s, &pr)) {
		problems_free(&pr);
		return false;
	}
	if (*pr.global && !session_run(s, problems, pr.global, strlen(pr.global))) {
		problems_free(&pr);
		return false;
	}
	struct submission *all = mc_xmalloc((size_t)(nsubs + 1) * sizeof *all);
	memset(all, 0, (size_t)(nsubs + 1) * sizeof *all);
	bool ok = true;
	for (int k = 0; k < nsubs; k++) {
		struct submission *sub = &all[k];
		sub->path = subs[k];
		submission_read(sub, &pr);
		if (sub->unreadable) {
			fprintf(s->err, "matcalc: error: %s\n", sub->error);
			ok = false;
		}
		for (int i = 0; i < pr.nparts && !sub->unreadable; i++) {
			grade_answer(s, &pr.parts[i], &sub->answers[i]);
			sub->score += sub->answers[i].score;
		}
		if (s->format_json)
			print_json(s, &pr, sub);
		if (s->gradescope_dir) {
			struct sbuf dir = {0};
			if (nsubs == 1) {
				sbuf_add(&dir, s->gradescope_dir);
			} else {
				const char *base = strrchr(sub->path, '/');
				if (mkdir(s->gradescope_dir, 0777) != 0 && errno != EEXIST)
					ok = false;
				sbuf_printf(&dir, "%s/%s", s->gradescope_dir,
					    base ? base + 1 : sub->path);
			}
			if (!write_gradescope(s, &pr, sub, dir.s))
				ok = false;
			sbuf_free(&dir);
		}
		fflush(s->out);
	}
	if (!s->format_json)
		print_table(s, &pr, all, nsubs);
	for (int k = 0; k < nsubs; k++)
		submission_free(&all[k], pr.nparts);
	free(all);
	problems_free(&pr);
	if (!ok)
		s->status = 2;
	return ok;
}
