/* ckeras config CONFIG.json: the tf.keras config after a round trip. */
#include <stdio.h>

#include "cli/cli.h"
#include "io/model_io.h"


static int run(int argc, char **argv)
{
    if (argc != 2) return ck_cli_fail("config needs exactly one CONFIG.json file");
    ck_layer *layer = NULL;
    char *out = NULL;
    ck_status st = CK_OK;
    char *text = ck_read_text_file(argv[1]);
    if (!text) st = ck_last_status();
    if (st == CK_OK) st = ck_layer_from_config(text, &layer);
    if (st == CK_OK) st = ck_layer_get_config(layer, &out);
    if (st == CK_OK) puts(out);
    ck_free(out);
    ck_free(text);
    ck_layer_free(layer);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_config = {
    "config",
    "print the tf.keras config of a layer config after a round trip",
    "usage: ckeras config CONFIG.json\n\n"
    "Reads a Keras layer config (tf.keras 2.x, Keras 3 or Keras 1 form), makes the\n"
    "layer and prints its get_config() in the tf.keras 2.x form on stdout.\n",
    run,
};
