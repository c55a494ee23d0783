/* repl.c - the interactive loop on a terminal (libedit). */
#include "repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>

int repl_run(struct session *s)
{
	char *line;
	while ((line = readline("matcalc> ")) != NULL) {
		if (strcmp(line, ":quit") == 0) {
			free(line);
			break;
		}
		session_run(s, "<input>", line, strlen(line));
		free(line);
	}
	return 0;
}
