/* Why: the commands that take a new user from nothing to a configured App (DESIGN.md section
 * 12): `register` runs GitHub's manifest flow and writes the env file; `doctor` checks a
 * configuration end to end. Each returns the process exit status (0 ok, 1 failed, 2 usage). */
#ifndef WK_CMD_SETUP_H
#define WK_CMD_SETUP_H

int wk_cmd_register(int argc, char **argv);
int wk_cmd_doctor(int argc, char **argv);

#endif
