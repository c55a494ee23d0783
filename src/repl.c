/* repl.c - the interactive loop on a terminal: libedit editing, history, completion, : commands. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <histedit.h>
#include <langinfo.h>
#include <locale.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "matcalc.h"

/* Called by main.c (which includes matcalc.h only, so no header of ours). */
int repl_run(struct matcalc *m);
void cli_print_result(void *arg, const struct matcalc_result *r);

#define REPL_HISTORY_SIZE 1000
#define REPL_PROMPT "matcalc> "
#define REPL_PROMPT_MORE "   ...> "

/* ---- owned strings: the REPL aborts on out-of-memory as the library does ---- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("matcalc: out of memory\n", stderr);
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

/* A growable string; s is always terminated once anything was added. */
struct text {
	char *s;
	size_t len, cap;
};

static void text_addn(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_add(struct text *t, const char *s) { text_addn(t, s, strlen(s)); }

/* Prints a statement's result as the program does: its output on stdout, then
 * its error report on stderr. */
void cli_print_result(void *arg, const struct matcalc_result *r)
{
	/* --format=json: one JSON object a line on stdout, the error included */
	const char *format = arg ? matcalc_get_option(arg, "--format") : NULL;
	if (format && strcmp(format, "json") == 0) {
		char *json = matcalc_result_json(r);
		puts(json);
		matcalc_free(json);
		fflush(stdout);
		return;
	}
	fputs(matcalc_result_output(r), stdout);
	fflush(stdout);
	const char *report = matcalc_result_report(r);
	if (report)
		fputs(report, stderr);
}

struct repl {
	struct matcalc *m;
	EditLine *el;
	History *hist;
	char *histfile;	 /* owned; NULL when $HOME is unset: no history file */
	bool continuing; /* a statement is unfinished: show the continuation prompt */
	struct text entry; /* the lines of the statement being typed: one history entry */
	bool quit;
	bool cancel; /* Ctrl-C was typed: the line is dropped */
};

struct repl_command {
	const char *name;
	const char *args; /* for :help and completion; NULL: takes no argument */
	const char *help;
	void (*run)(struct repl *r, const char *arg);
};

/* ---- commands ---- */

static void cmd_help(struct repl *r, const char *arg);
static void cmd_quit(struct repl *r, const char *arg);
static void cmd_vars(struct repl *r, const char *arg);
static void cmd_latex(struct repl *r, const char *arg);
static void cmd_steps(struct repl *r, const char *arg);
static void cmd_ascii(struct repl *r, const char *arg);
static void cmd_pretty(struct repl *r, const char *arg);
static void cmd_load(struct repl *r, const char *arg);
static void cmd_seed(struct repl *r, const char *arg);
static void cmd_rules(struct repl *r, const char *arg);
static void cmd_reset(struct repl *r, const char *arg);

static const struct repl_command commands[] = {
    {"help", NULL, "this list", cmd_help},
    {"vars", NULL, "the declared and defined names", cmd_vars},
    {"latex", "on|off", "print results as LaTeX", cmd_latex},
    {"steps", "on|off|all", "print the derivation with citations (all: every rule)", cmd_steps},
    {"ascii", "on|off", "print Greek letters as ASCII names", cmd_ascii},
    {"pretty", "on|off", "print with Unicode: Xᵀ, X⁻¹, ‖x‖² (on a UTF-8 terminal: on)", cmd_pretty},
    {"load", "FILE", "run the statements of FILE", cmd_load},
    {"seed", "N", "seed the random numbers (rand, randn, check)", cmd_seed},
    {"rules", "[PATTERN]", "list the loaded rules (matching PATTERN)", cmd_rules},
    {"reset", NULL, "forget every declaration, definition and value", cmd_reset},
    {"quit", NULL, "leave (also Ctrl-D, or quit, exit)", cmd_quit},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void cmd_help(struct repl *r, const char *arg)
{
	(void)r;
	(void)arg;
	FILE *out = stdout;
	fputs("Statements (one a line; ';' separates; '#' comments):\n"
	      "  let X : matrix(n, m)          declare; also symmetric/spd matrix(n, n),\n"
	      "  let y, t : vector(n)          vector(n) and scalar\n"
	      "  f = ||y - X t||^2             name an expression\n"
	      "  X = [1 2; 3 4]                give a symbol a value (also randn(3, 2), eye(3))\n"
	      "  e                             print the simplified form of e\n"
	      "  grad(f, X)  \\nabla_X f        gradient; also hess(f, x), jacobian(F, x), d(f)\n"
	      "  eval(e)  factor(e)            numeric value, factored form\n"
	      "  check(e1 = e2)  gradcheck(f, X)  solve(grad(f, X) = 0, X)\n"
	      "A statement with an open bracket continues on the next line.\n"
	      "Tab completes functions, names and commands.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char left[64];
		snprintf(left, sizeof left, ":%s%s%s", commands[i].name,
			 commands[i].args ? " " : "", commands[i].args ? commands[i].args : "");
		fprintf(out, "  %-20s %s\n", left, commands[i].help);
	}
}

static void cmd_reset(struct repl *r, const char *arg)
{
	(void)arg;
	matcalc_reset(r->m);
	fputs("every name forgotten\n", stdout);
}

static void cmd_quit(struct repl *r, const char *arg)
{
	(void)arg;
	r->quit = true;
}

static void cmd_vars(struct repl *r, const char *arg)
{
	(void)arg;
	char *names = matcalc_describe_names(r->m);
	fputs(names, stdout);
	matcalc_free(names);
}

/* Sets the switch --name from "on"/"off"; with no argument shows the setting. */
static void set_switch(struct repl *r, const char *name, const char *arg)
{
	char option[32];
	snprintf(option, sizeof option, "--%s", name);
	if (!*arg)
		fprintf(stdout, "%s is %s\n", name, matcalc_get_option(r->m, option));
	else if (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0)
		matcalc_set_option(r->m, option, arg);
	else
		fprintf(stderr, "matcalc: :%s takes on or off, not '%s'\n", name, arg);
}

static void cmd_latex(struct repl *r, const char *arg) { set_switch(r, "latex", arg); }

/* :steps on|off|all (all: every rule applied, --steps=all) */
static void cmd_steps(struct repl *r, const char *arg)
{
	if (strcmp(arg, "all") == 0)
		matcalc_set_option(r->m, "--steps=all", "on");
	else if (!*arg && strcmp(matcalc_get_option(r->m, "--steps=all"), "on") == 0)
		fputs("steps is all\n", stdout);
	else
		set_switch(r, "steps", arg);
}

static void cmd_ascii(struct repl *r, const char *arg) { set_switch(r, "ascii", arg); }

static void cmd_pretty(struct repl *r, const char *arg) { set_switch(r, "pretty", arg); }

/* A file name as typed: ~/ means $HOME. Returns an owned string. */
static char *expand_path(const char *path)
{
	const char *home = getenv("HOME");
	if (path[0] == '~' && (path[1] == '/' || !path[1]) && home && *home) {
		struct text b = {0};
		text_add(&b, home);
		text_add(&b, path + 1);
		return b.s;
	}
	return xstrdup(path);
}

static void cmd_load(struct repl *r, const char *arg)
{
	if (!*arg) {
		fputs("matcalc: :load needs a file name: :load FILE\n", stderr);
		return;
	}
	char *path = expand_path(arg);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "matcalc: cannot open %s: %s\n", path, strerror(errno));
		free(path);
		return;
	}
	struct text b = {0};
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		text_addn(&b, buf, n);
	if (ferror(f))
		fprintf(stderr, "matcalc: cannot read %s: %s\n", path, strerror(errno));
	else
		matcalc_run(r->m, path, b.s ? b.s : "", b.len, cli_print_result, NULL);
	fclose(f);
	free(b.s);
	free(path);
}

static void cmd_seed(struct repl *r, const char *arg)
{
	if (!*arg) {
		fprintf(stdout, "seed is %s\n", matcalc_get_option(r->m, "--seed"));
		return;
	}
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 0x7fffffffL) {
		fprintf(stderr,
			"matcalc: :seed takes a whole number from 0 to 2147483647, not '%s'\n",
			arg);
		return;
	}
	matcalc_set_option(r->m, "--seed", arg);
}

static void cmd_rules(struct repl *r, const char *arg)
{
	char *listing = NULL;
	if (matcalc_list_rules(r->m, arg, &listing) == MATCALC_OK)
		fputs(listing, stdout);
	else
		fputs(matcalc_errmsg(r->m), stderr);
	matcalc_free(listing);
}

/* Finds the command a name (or an unambiguous prefix of one) means; NULL after
 * reporting why not. */
static const struct repl_command *find_command(const char *name, size_t len)
{
	const struct repl_command *found = NULL;
	int nfound = 0;
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strncmp(commands[i].name, name, len) != 0)
			continue;
		if (strlen(commands[i].name) == len)
			return &commands[i];
		found = &commands[i];
		nfound++;
	}
	if (nfound == 1 && len > 0)
		return found;
	if (nfound > 1 && len > 0) {
		fprintf(stderr, "matcalc: ambiguous command ':%.*s' (", (int)len, name);
		const char *sep = "";
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strncmp(commands[i].name, name, len) == 0) {
				fprintf(stderr, "%s:%s", sep, commands[i].name);
				sep = ", ";
			}
		fputs(")\n", stderr);
		return NULL;
	}
	fprintf(stderr, "matcalc: unknown command ':%.*s' (try :help)\n", (int)len, name);
	return NULL;
}

/* Runs ":name arg" (line points at the ':'). */
static void run_command(struct repl *r, const char *line)
{
	const char *name = line + 1;
	size_t len = 0;
	while (name[len] && !isspace((unsigned char)name[len]))
		len++;
	const struct repl_command *c = find_command(name, len);
	if (!c)
		return;
	/* the argument, trimmed; quotes allow a file name with spaces */
	char *arg = xstrdup(name + len);
	char *a = arg;
	while (isspace((unsigned char)*a))
		a++;
	size_t alen = strlen(a);
	while (alen > 0 && isspace((unsigned char)a[alen - 1]))
		a[--alen] = '\0';
	if (alen >= 2 && (a[0] == '"' || a[0] == '\'') && a[alen - 1] == a[0]) {
		a[alen - 1] = '\0';
		a++;
	}
	if (!c->args && *a)
		fprintf(stderr, "matcalc: :%s takes no argument\n", c->name);
	else
		c->run(r, a);
	free(arg);
}

/* ---- completion ---- */

struct cands {
	const char *prefix; /* the word before the cursor */
	size_t plen;
	char **v;
	size_t n, cap;
};

static void cands_add(struct cands *c, const char *name, const char *suffix)
{
	if (strncmp(name, c->prefix, c->plen) != 0)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	struct text b = {0};
	text_add(&b, name);
	text_add(&b, suffix);
	c->v[c->n++] = b.s;
}

/* matcalc_names callback: a name (Greek ones come with their ASCII spelling too). */
static void cands_add_name(void *arg, const char *name) { cands_add(arg, name, ""); }

/* The entries of the directory named by the text before the word (a :load argument). */
static void cands_add_files(struct cands *c, const char *dir, size_t dirlen)
{
	char *typed = xrealloc(NULL, dirlen + 1);
	memcpy(typed, dir, dirlen);
	typed[dirlen] = '\0';
	char *path = expand_path(dirlen ? typed : ".");
	DIR *d = opendir(path);
	if (d) {
		struct dirent *ent;
		while ((ent = readdir(d)) != NULL) {
			const char *nm = ent->d_name;
			if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
				continue;
			if (nm[0] == '.' && (c->plen == 0 || c->prefix[0] != '.'))
				continue; /* hidden files only when asked for */
			struct text full = {0};
			text_add(&full, path);
			text_add(&full, "/");
			text_add(&full, nm);
			struct stat st;
			bool isdir = stat(full.s, &st) == 0 && S_ISDIR(st.st_mode);
			free(full.s);
			cands_add(c, nm, isdir ? "/" : "");
		}
		closedir(d);
	}
	free(path);
	free(typed);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_word_byte(unsigned char ch) { return isalnum(ch) || ch == '_' || ch >= 0x80; }

static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Lists the candidates in columns under the line being edited. */
static void show_cands(struct repl *r, const struct cands *c)
{
	int width = 80;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		width = ws.ws_col;
	size_t colw = 0;
	for (size_t i = 0; i < c->n; i++)
		if (display_width(c->v[i]) > colw)
			colw = display_width(c->v[i]);
	colw += 2;
	size_t ncols = (size_t)width / colw;
	if (ncols == 0)
		ncols = 1;
	size_t nrows = (c->n + ncols - 1) / ncols;
	(void)r;
	FILE *out = stdout;
	fputc('\n', out);
	for (size_t i = 0; i < nrows; i++) {
		for (size_t j = 0; j < ncols; j++) {
			size_t k = j * nrows + i;
			if (k >= c->n)
				break;
			bool last = j + 1 == ncols || k + nrows >= c->n;
			fputs(c->v[k], out);
			if (!last)
				for (size_t w = display_width(c->v[k]); w < colw; w++)
					fputc(' ', out);
		}
		fputc('\n', out);
	}
	fflush(out);
}

static const char *const keywords[] = {
    "let", "matrix", "vector", "scalar", "symmetric", "spd",
};

/* The TAB key: completes the word before the cursor from the names that fit
 * where it stands (a : command, a command's argument, or an expression). */
static unsigned char repl_complete(EditLine *el, int ch)
{
	(void)ch;
	void *data = NULL;
	el_get(el, EL_CLIENTDATA, &data);
	struct repl *r = data;
	const LineInfo *li = el_line(el);
	const char *start = li->cursor;
	while (start > li->buffer && is_word_byte((unsigned char)start[-1]))
		start--;
	const char *first = li->buffer;
	while (first < start && isspace((unsigned char)*first))
		first++;
	struct cands c = {.prefix = start, .plen = (size_t)(li->cursor - start)};
	if (first < li->cursor && *first == ':') {
		const char *name = first + 1, *ne = name;
		while (ne < li->cursor && !isspace((unsigned char)*ne))
			ne++;
		if (ne == li->cursor) {
			/* the command name itself */
			c.prefix = name;
			c.plen = (size_t)(ne - name);
			for (size_t i = 0; i < NCOMMANDS; i++)
				cands_add(&c, commands[i].name, commands[i].args ? " " : "");
		} else {
			size_t nlen = (size_t)(ne - name);
			const char *arg = ne;
			while (arg < li->cursor && isspace((unsigned char)*arg))
				arg++;
			if (nlen == 4 && strncmp(name, "load", 4) == 0) {
				const char *slash = NULL;
				for (const char *p = arg; p < li->cursor; p++)
					if (*p == '/')
						slash = p;
				c.prefix = slash ? slash + 1 : arg;
				c.plen = (size_t)(li->cursor - c.prefix);
				cands_add_files(&c, arg, slash ? (size_t)(slash - arg + 1) : 0);
			} else if ((nlen == 5 && (strncmp(name, "latex", 5) == 0 ||
						  strncmp(name, "steps", 5) == 0 ||
						  strncmp(name, "ascii", 5) == 0)) ||
				   (nlen == 6 && strncmp(name, "pretty", 6) == 0)) {
				cands_add(&c, "on", "");
				cands_add(&c, "off", "");
				if (strncmp(name, "steps", 5) == 0)
					cands_add(&c, "all", "");
			}
		}
	} else {
		matcalc_names(r->m, cands_add_name, &c);
		for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
			cands_add(&c, keywords[i], "");
	}
	unsigned char ret = CC_REFRESH_BEEP;
	if (c.n > 0) {
		qsort(c.v, c.n, sizeof *c.v, cmp_str);
		size_t k = 1;
		for (size_t i = 1; i < c.n; i++) {
			if (strcmp(c.v[i], c.v[k - 1]) == 0)
				free(c.v[i]);
			else
				c.v[k++] = c.v[i];
		}
		c.n = k;
		/* the longest prefix all candidates share */
		size_t common = strlen(c.v[0]);
		for (size_t i = 1; i < c.n; i++) {
			size_t j = 0;
			while (j < common && c.v[i][j] == c.v[0][j])
				j++;
			common = j;
		}
		/* never cut a UTF-8 sequence in two */
		while (common > c.plen && ((unsigned char)c.v[0][common] & 0xC0) == 0x80)
			common--;
		if (common > c.plen) {
			char *ins = xrealloc(NULL, common - c.plen + 1);
			memcpy(ins, c.v[0] + c.plen, common - c.plen);
			ins[common - c.plen] = '\0';
			el_insertstr(el, ins);
			free(ins);
			ret = CC_REFRESH;
		} else if (c.n > 1) {
			show_cands(r, &c);
			ret = CC_REDISPLAY;
		} else {
			ret = CC_REFRESH; /* already complete */
		}
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
	return ret;
}

/* ---- the loop ---- */

static char *repl_prompt(EditLine *el)
{
	void *data = NULL;
	el_get(el, EL_CLIENTDATA, &data);
	const struct repl *r = data;
	return r->continuing ? REPL_PROMPT_MORE : REPL_PROMPT;
}

static char *history_path(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home)
		return NULL;
	struct text b = {0};
	text_add(&b, home);
	text_add(&b, "/.matcalc_history");
	return b.s;
}

/* Remembers a line typed; the file is rewritten at once so that a REPL ended
 * by a signal keeps it too. A file that cannot be written is not an error:
 * the session goes on without it. */
static void remember_now(struct repl *r, const char *line)
{
	HistEvent ev;
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return;
	history(r->hist, &ev, H_ENTER, line);
	if (r->histfile)
		history(r->hist, &ev, H_SAVE, r->histfile);
}

/* A statement typed over several lines is one history entry: its lines
 * joined by spaces (a newline inside brackets is a space to the parser). */
static void remember(struct repl *r, const char *line)
{
	if (r->entry.len)
		text_add(&r->entry, " ");
	text_add(&r->entry, line);
}

static void remember_end(struct repl *r)
{
	if (r->entry.len)
		remember_now(r, r->entry.s);
	r->entry.len = 0;
	if (r->entry.s)
		r->entry.s[0] = '\0';
}

/* Runs the statement collected so far, or waits for more when a bracket is open. */
static void run_statement(struct repl *r, struct text *pending)
{
	bool incomplete =
	    matcalc_start(r->m, "<input>", pending->s, pending->len, 1) == MATCALC_INCOMPLETE;
	r->continuing = incomplete;
	if (!incomplete) {
		/* an error is reported and forgotten: it does not decide the exit status */
		const struct matcalc_result *res;
		while ((res = matcalc_next(r->m)) != NULL)
			cli_print_result(NULL, res);
		pending->len = 0;
		pending->s[0] = '\0';
	}
}

static void handle_line(struct repl *r, struct text *pending, const char *line)
{
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == ':') {
		/* no statement line starts with ':', so a command also ends an unfinished one */
		if (r->continuing) {
			fputs("matcalc: unfinished statement dropped\n", stderr);
			pending->len = 0;
			r->continuing = false;
		}
		run_command(r, p);
		return;
	}
	if (!r->continuing && !*p)
		return;
	/* bare help, quit and exit do what they say (no statement is only that word) */
	if (!r->continuing) {
		static const char *const words[][2] = {{"help", ":help"}, {"quit", ":quit"},
						       {"exit", ":quit"}};
		size_t n = strlen(p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		for (size_t i = 0; i < sizeof words / sizeof *words; i++)
			if (n == strlen(words[i][0]) && strncmp(p, words[i][0], n) == 0) {
				run_command(r, words[i][1]);
				return;
			}
	}
	if (r->continuing)
		text_add(pending, "\n");
	text_add(pending, line);
	run_statement(r, pending);
}

/* Ctrl-C while a statement runs: the library stops it at its next check
 * (matcalc_interrupt) with the error "interrupted"; the session is kept. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	matcalc_interrupt();
}

/* Ctrl-C while typing: drops the line and any unfinished statement. */
static unsigned char repl_cancel(EditLine *el, int ch)
{
	(void)ch;
	struct repl *r = NULL;
	el_get(el, EL_CLIENTDATA, &r);
	if (r)
		r->cancel = true;
	return CC_NEWLINE;
}

int repl_run(struct matcalc *m)
{
	fputs("matcalc: type :help for the statements and commands, Ctrl-D to leave\n", stdout);
	/* libedit edits in the locale's character set; matcalc's input is UTF-8
	 * (Greek names), so a C or Latin-1 locale is replaced by C.UTF-8 */
	const char *loc = setlocale(LC_CTYPE, "");
	if (!loc || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
	/* a UTF-8 terminal shows Xᵀ and ‖x‖² (what was asked for on the command line wins) */
	else if (strcmp(matcalc_get_option(m, "--ascii"), "off") == 0 &&
		 strcmp(matcalc_get_option(m, "--latex"), "off") == 0)
		matcalc_set_option(m, "--pretty", "on");
	struct repl r = {.m = m};
	HistEvent ev;
	int rc = 0;
	r.hist = history_init();
	r.el = el_init("matcalc", stdin, stdout, stderr);
	if (!r.hist || !r.el) {
		fputs("matcalc: error: cannot start the line editor\n", stderr);
		rc = 2;
		goto out;
	}
	history(r.hist, &ev, H_SETSIZE, REPL_HISTORY_SIZE);
	history(r.hist, &ev, H_SETUNIQUE, 1);
	r.histfile = history_path();
	if (r.histfile)
		history(r.hist, &ev, H_LOAD, r.histfile); /* a missing file is a first session */
	el_set(r.el, EL_CLIENTDATA, &r);
	el_set(r.el, EL_PROMPT, repl_prompt);
	el_set(r.el, EL_EDITOR, "emacs");
	el_set(r.el, EL_SIGNAL, 1); /* a signal restores the terminal before it acts */
	el_set(r.el, EL_HIST, history, r.hist);
	/* the wide call: el_set(EL_ADDFN) copies the two strings and never frees them */
	el_wset(r.el, EL_ADDFN, L"matcalc-complete", L"complete a name or command", repl_complete);
	el_set(r.el, EL_BIND, "^I", "matcalc-complete", NULL);
	/* Ctrl-C reaches the editor as a key (no SIGINT while typing) */
	el_wset(r.el, EL_ADDFN, L"matcalc-cancel", L"drop the line being typed", repl_cancel);
	el_set(r.el, EL_BIND, "^C", "matcalc-cancel", NULL);
	el_set(r.el, EL_SETTY, "-d", "-isig", NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	el_source(r.el, NULL); /* ~/.editrc, e.g. "bind -v" for vi keys */

	struct text pending = {0};
	text_add(&pending, "");
	while (!r.quit) {
		int count = 0;
		errno = 0;
		/* libedit hands a signal to the handler it found and then forgets that
		 * handler: ours is installed again before every line */
		sigaction(SIGINT, &sa, NULL);
		const char *got = el_gets(r.el, &count);
		if (!got && r.cancel)
			got = ""; /* Ctrl-C on an empty line: not the end of input */
		if (!got && interrupted) {
			/* Ctrl-C as a signal while typing: as the key binding below */
			interrupted = 0;
			el_reset(r.el);
			r.cancel = true;
			got = "";
		}
		if (!got) {
			if (count < 0) {
				fprintf(stderr, "matcalc: error: cannot read input: %s\n",
					strerror(errno ? errno : EIO));
				rc = 2;
			} else {
				fputc('\n', stdout); /* Ctrl-D left the cursor after the prompt */
			}
			break;
		}
		char *line = xstrdup(got);
		size_t n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (r.cancel) {
			/* Ctrl-C: the line and an unfinished statement are dropped */
			r.cancel = false;
			fputs("^C\n", stdout);
			pending.len = 0;
			pending.s[0] = '\0';
			r.continuing = false;
			r.entry.len = 0; /* nor is it remembered */
			if (r.entry.s)
				r.entry.s[0] = '\0';
			free(line);
			continue;
		}
		remember(&r, line);
		interrupted = 0;
		handle_line(&r, &pending, line);
		if (!r.continuing)
			remember_end(&r);
		interrupted = 0; /* the statement said so if it was stopped */
		free(line);
	}
	if (r.continuing) {
		/* end of input inside a statement: say what is missing */
		matcalc_run(m, "<input>", pending.s, pending.len, cli_print_result, NULL);
	}
	free(pending.s);
	remember_end(&r);
	free(r.entry.s);
	if (r.histfile)
		history(r.hist, &ev, H_SAVE, r.histfile);
out:
	fflush(stdout);
	if (r.el)
		el_end(r.el);
	if (r.hist)
		history_end(r.hist);
	free(r.histfile);
	return rc;
}
