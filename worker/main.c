/* Why: the singularity-worker binary; everything lives in the sg_worker library (cli.c) so tests
 * link the same code. */
#include "wk_cli.h"

int main(int argc, char **argv)
{
    return wk_cli_main(argc, argv);
}
