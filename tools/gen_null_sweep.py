#!/usr/bin/env python3
"""Generates tests/api/null_sweep_calls.h from include/ckeras.h.

For every public function: one call with every pointer argument NULL, and
for each pointer argument one call with that argument NULL and every other
argument a valid fixture (tests/api/test_null_sweep.c defines the fixtures
`F` and the sinks `S`).  The test asserts that nothing crashes (under ASan),
nothing leaks, and a failure always carries a message.

usage: gen_null_sweep.py SRC_DIR [--check]
  --check: exit 1 if the committed file differs from what would be made
  (a CTest runs this, so a new public function cannot skip the sweep).
"""
import re
import sys

# Functions whose calls would take fixtures away from the test or change
# process-wide state; only the all-NULL call is made for them.
ALL_NULL_ONLY = {
    "ck_set_allocator", "ck_free", "ck_realloc", "ck_error", "ck_tensor_free",
    "ck_tensors_free", "ck_layer_free", "ck_model_free", "ck_activation_free",
    "ck_initializer_free", "ck_regularizer_free", "ck_constraint_free",
    "ck_loss_free", "ck_optimizer_free", "ck_metric_free", "ck_callback_free",
    "ck_history_free", "ck_predictor_free", "ck_clear_session", "ck_set_random_seed",
    # the registry of user-defined layers is process-wide
    "ck_register_layer_class", "ck_register_lambda", "ck_custom_registry_reset",
}
# Never called: no pointer arguments worth testing or documented to take
# anything (ck_error's format NULL is a caller bug C cannot see).
SKIP = {"ck_error", "ck_set_allocator", "ck_realloc"}

# Valid fixture for a parameter, by (function prefix, param name) then type.
STRINGS = [
    ("ck_initializer", "\"zeros\""), ("ck_regularizer", "\"l2\""),
    ("ck_constraint", "\"NonNeg\""), ("ck_loss", "\"mse\""),
    ("ck_optimizer", "\"sgd\""), ("ck_metric", "\"mae\""),
    ("ck_activation", "\"relu\""), ("ck_dtype_from_name", "\"float32\""),
    ("ck_layer_from_config", "F.dense_json"), ("ck_model_from_json", "F.model_json"),
    ("ck_model_compile_json", "\"{\\\"loss\\\": \\\"mse\\\", \\\"optimizer\\\": \\\"sgd\\\"}\""),
    ("ck_model_get_layer", "\"d\""), ("ck_logs_get", "\"loss\""),
    ("ck_history_get", "\"loss\""), ("ck_regularizer_new_factors", "\"L2\""),
    ("ck_csv_logger", "F.tmp_csv"),
]
PATH_NAMES = {"path", "filename"}

TYPE_FIXTURE = {
    "ck_tensor *": "F.t", "const ck_tensor *": "F.t",
    "ck_tensor **": "&S.t", "ck_tensor ***": "&S.tarr",
    "ck_tensor *const *": "F.tarr", "ck_tensor *const **": "&S.borrowed",
    "ck_layer *": "F.layer", "const ck_layer *": "F.layer", "ck_layer **": "&S.layer",
    "ck_layer *const *": "F.layers",
    "ck_model *": "F.model", "const ck_model *": "F.model", "ck_model **": "&S.model",
    "ck_weight *": "F.weight", "const ck_weight *": "F.weight", "ck_weight **": "&S.weight",
    "ck_activation *": "F.act", "const ck_activation *": "F.act", "ck_activation **": "&S.act",
    "ck_initializer *": "F.init", "const ck_initializer *": "F.init", "ck_initializer **": "&S.init",
    "ck_regularizer *": "F.reg", "const ck_regularizer *": "F.reg", "ck_regularizer **": "&S.reg",
    "ck_constraint *": "F.con", "const ck_constraint *": "F.con", "ck_constraint **": "&S.con",
    "ck_loss *": "F.loss", "const ck_loss *": "F.loss", "ck_loss **": "&S.loss",
    "ck_optimizer *": "F.opt", "const ck_optimizer *": "F.opt", "ck_optimizer **": "&S.opt",
    "ck_metric *": "F.metric", "const ck_metric *": "F.metric", "ck_metric **": "&S.metric",
    "ck_callback *": "F.cb", "ck_callback **": "&S.cb",
    "ck_predictor *": "F.pred", "ck_predictor **": "&S.pred",
    "ck_history *": "F.history", "const ck_history *": "F.history", "ck_history **": "&S.history",
    "ck_shape *": "S.shapes", "const ck_shape *": "F.shapes",
    "const int64_t *": "F.dims", "int64_t *": "&S.i64", "int64_t out_shape[CK_MAX_RANK]": "S.dims",
    "int resolved[2]": "S.ints", "int *": "&S.i", "double *": "&S.d", "double **": "&S.darr",
    "char *": "S.buf", "char **": "&S.str", "const char *": "\"x\"",
    "void *": "S.buf", "const void *": "F.bytes", "void **": "&S.ptr",
    "ck_dtype *": "&S.dtype", "ck_alloc_fn *": "&S.alloc",
    "ck_logs *": "&S.logs", "const ck_logs *": "&F.logs",
    "ck_activation_opts *": "&S.act_opts",
    "const ck_callback_fns *": "&F.cb_fns",
    "ck_loss_fn": "sweep_loss_fn", "ck_batch_fn": "sweep_batch_fn",
    "ck_lr_schedule_fn": "sweep_lr_fn", "ck_alloc_fn": "NULL",
}
SCALARS = {
    "ck_status": "CK_VALUE_ERROR", "ck_dtype": "CK_FLOAT32", "size_t": "8",
    "int": "1", "int64_t": "1", "uint64_t": "1", "double": "0.5", "bool": "false",
    "ck_axes": "ck_axes_one(1)",
}


def parse(header):
    src = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    src = re.sub(r"static inline[^{]*\{[^}]*\}", "", src)
    src = re.sub(r"#[^\n]*", "", src)
    src = re.sub(r"__attribute__\(\(.*?\)\)\)?", "", src)
    src = re.sub(r"typedef[^;]*;", "", src)
    # CK_API (the export attribute) is not part of the return type.
    src = re.sub(r"\bCK_API\b", "", src)
    out = []
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(ck_\w+)\s*\(([^;{}()]*)\)\s*;", src):
        ret, name, params = m.group(1).strip(), m.group(2), " ".join(m.group(3).split())
        ps = [] if params in ("void", "") else [p.strip() for p in params.split(",")]
        out.append((ret, name, ps))
    return out


def split_param(p):
    if p == "...":
        return p, p
    m = re.match(r"(.*?)(\w+)(\[[^\]]*\])?$", p)
    typ, name, arr = m.group(1).strip(), m.group(2), m.group(3)
    if arr:
        return typ + " " + name + arr, name
    typ = re.sub(r"\s*\*\s*", " *", typ).replace("* *", "**").replace("* *", "**")
    typ = typ.replace("*const", "*const").replace(" *const *", " *const *")
    return typ.strip(), name


def norm(t):
    t = re.sub(r"\s+", " ", t)
    t = t.replace("* *", "**").replace("* const", "*const")
    return t


def is_pointer(typ):
    return "*" in typ or "[" in typ or typ in ("ck_loss_fn", "ck_batch_fn", "ck_lr_schedule_fn", "ck_alloc_fn")


def fixture(func, typ, name):
    typ = norm(typ)
    if name in ("out_masks", "out_mask"):
        return "&S.mask"
    if typ.startswith("const ck_") and typ.endswith("_opts *"):
        return "(&(%s){0})" % typ[6:-2]
    if typ == "const char *":
        if name in PATH_NAMES:
            return "F.tmp_path"
        for prefix, value in STRINGS:
            if func.startswith(prefix):
                return value
        return "\"x\""
    if typ in TYPE_FIXTURE:
        return TYPE_FIXTURE[typ]
    if typ in SCALARS:
        return SCALARS[typ]
    raise SystemExit("gen_null_sweep: no fixture for %s in %s" % (typ, func))


def generate(header):
    lines = ["/* Generated by tools/gen_null_sweep.py from include/ckeras.h: do not edit. */",
             "/* SWEEP(function, variant, call) */"]
    count = 0
    for ret, func, params in parse(header):
        if func in SKIP:
            continue
        split = [split_param(p) for p in params]
        ptrs = [i for i, (t, _) in enumerate(split) if is_pointer(norm(t))]
        if not ptrs:
            continue
        variants = [("all_null", set(ptrs))]
        if func not in ALL_NULL_ONLY and len(ptrs) > 1:
            variants += [("null_" + split[i][1], {i}) for i in ptrs]
        for tag, nulled in variants:
            args = []
            for i, (t, n) in enumerate(split):
                args.append("NULL" if i in nulled else fixture(func, t, n))
            kind = "STATUS" if ret == "ck_status" else ("VOID" if ret == "void" else "VALUE")
            lines.append("SWEEP_%s(%s, %s, %s(%s))" % (kind, func, tag, func, ", ".join(args)))
            count += 1
    lines.append("/* %d calls */" % count)
    return "\n".join(lines) + "\n"


def main():
    src = sys.argv[1]
    text = generate(open(src + "/include/ckeras.h").read())
    target = src + "/tests/api/null_sweep_calls.h"
    if "--check" in sys.argv:
        if open(target).read() != text:
            print("tests/api/null_sweep_calls.h is stale: run tools/gen_null_sweep.py " + src)
            sys.exit(1)
        return
    open(target, "w").write(text)


if __name__ == "__main__":
    main()
