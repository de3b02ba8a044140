/* The file functions of a CK_MINIMAL build (cmake -DCK_MINIMAL=ON).
 *
 * That build leaves out every file reader and writer (src/io/ but for
 * json_check.c, and the train floor's model and callback files), so the
 * library needs neither libzip nor zlib.  The public API stays the same,
 * so a program written against ckeras.h links either library: these
 * functions answer CK_NOT_IMPLEMENTED with a message saying why. */
#include "ckeras.h"

static ck_status no_files(const char *fn)
{
    return ck_error(CK_NOT_IMPLEMENTED, "%s: ckeras was built without file support (CK_MINIMAL): build models in "
                    "C or from JSON strings (ck_model_from_json)", fn);
}

ck_status ck_npy_load(const char *path, ck_tensor **out)
{
    (void)path;
    (void)out;
    return no_files("ck_npy_load");
}

ck_status ck_npy_load_buffer(const void *buf, size_t len, ck_tensor **out)
{
    (void)buf;
    (void)len;
    (void)out;
    return no_files("ck_npy_load_buffer");
}

ck_status ck_npy_save(const char *path, const ck_tensor *t)
{
    (void)path;
    (void)t;
    return no_files("ck_npy_save");
}

ck_status ck_idx_load(const char *path, ck_tensor **out)
{
    (void)path;
    (void)out;
    return no_files("ck_idx_load");
}

ck_status ck_model_load(const char *path, ck_model **out)
{
    (void)path;
    (void)out;
    return no_files("ck_model_load");
}

const char *ck_model_saved_training_config(const ck_model *m)
{
    /* No model comes from a file here, so none has a saved config. */
    (void)m;
    return NULL;
}

ck_status ck_model_load_weights(ck_model *m, const char *path, int by_name)
{
    (void)m;
    (void)path;
    (void)by_name;
    return no_files("ck_model_load_weights");
}

ck_status ck_model_save(ck_model *m, const char *path)
{
    (void)m;
    (void)path;
    return no_files("ck_model_save");
}

ck_status ck_model_save_weights(ck_model *m, const char *path)
{
    (void)m;
    (void)path;
    return no_files("ck_model_save_weights");
}

ck_status ck_model_checkpoint(ck_callback **out, const ck_model_checkpoint_opts *opts)
{
    (void)out;
    (void)opts;
    return no_files("ck_model_checkpoint");
}

ck_status ck_csv_logger(ck_callback **out, const char *filename, const char *separator, bool append)
{
    (void)out;
    (void)filename;
    (void)separator;
    (void)append;
    return no_files("ck_csv_logger");
}
