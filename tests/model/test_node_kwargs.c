/* Call keyword arguments of functional-config nodes (src/model/node_call.c):
 * the node forms tf.keras 2.15 and Keras 3 write (copied from
 * models saved by them: MultiHeadAttention(q, v, key=k), LSTM's
 * initial_state, TFOpLambda's bare tensor and _CONSTANT_VALUE first
 * argument), which tensors they give in which order, what the layer
 * hooks see, and that writing the recorded call back gives tf.keras'
 * entry again. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "model/node_call.h"
#include "support/support.h"

/* A class taking a query and tensors by keyword, like MultiHeadAttention. */
static const char *const attention_like_inputs[] = {"value", "key", "attention_mask", NULL};

static ck_status same_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

static json_t *seen_kwargs, *seen_args, *seen_norm_kwargs;

static ck_status record_kwargs(ck_layer *layer, const json_t *kwargs)
{
    (void)layer;
    json_decref(seen_kwargs);
    seen_kwargs = json_deep_copy(kwargs);
    return CK_OK;
}

static ck_status record_call(ck_layer *layer, const json_t *args, const json_t *kwargs)
{
    (void)layer;
    json_decref(seen_args);
    json_decref(seen_norm_kwargs);
    seen_args = json_deep_copy(args);
    seen_norm_kwargs = json_deep_copy(kwargs);
    return CK_OK;
}

static const ck_layer_class attention_like = {
    .class_name = "AttentionLike",
    .size = sizeof(ck_layer),
    .arity = CK_LIST_OF_INPUTS,
    .min_inputs = 1,
    .max_inputs = 8,
    .compute_output_shape = same_shape,
    .node_kwargs = record_kwargs,
    .kwarg_inputs = attention_like_inputs,
    .node_call = record_call,
};

static ck_layer *make_layer(const char *name)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_create(&attention_like, name, false, CK_FLOAT32, NULL, 0, NULL, &l), CK_OK, "%s",
                 ck_last_error());
    return l;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    cr_assert(j, "%s: %s", text, e.text);
    return j;
}

static void expect_refs(const ck_node_call *c, int n, const char *const *names, const int *tensors)
{
    cr_assert_eq(c->n_refs, n, "%d refs, want %d", c->n_refs, n);
    for (int i = 0; i < n; i++) {
        cr_expect_str_eq(c->refs[i].layer, names[i], "ref %d", i);
        cr_expect_eq(c->refs[i].tensor_index, tensors[i], "ref %d", i);
    }
}

static void expect_json(const json_t *got, const char *want)
{
    json_t *w = parse(want);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    cr_expect(json_equal(got, w), "got %s, want %s", g, want);
    free(g);
    json_decref(w);
}

Test(node_kwargs, tf2_attention_value_and_key_by_keyword)
{
    /* tf.keras 2.15: mha(q, v, key=k, use_causal_mask=True) */
    ck_layer *l = make_layer("mha");
    json_t *node = parse("[[\"q\", 0, 0, {\"value\": [\"v\", 0, 0], \"key\": [\"k\", 0, 0], "
                         "\"use_causal_mask\": true}]]");
    ck_node_call c;
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    expect_refs(&c, 3, (const char *[]){"q", "v", "k"}, (int[]){0, 0, 0});
    cr_expect_eq(c.n_args, 1);
    cr_expect(c.plain);
    expect_json(c.kwargs, "{\"value\": {\"__ck_input__\": 1}, \"key\": {\"__ck_input__\": 2}, "
                          "\"use_causal_mask\": true}");
    cr_expect(json_equal(c.raw_kwargs, json_array_get(json_array_get(node, 0), 3)));
    ck_node_call_free(&c);
    json_decref(node);
    ck_layer_free(l);
}

Test(node_kwargs, keras3_positional_value_is_named)
{
    /* Keras 3: mha(q, v, key=k) writes q and v positionally. */
    ck_layer *l = make_layer("mha");
    json_t *node = parse(
        "{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"q\", 0, 0]}},"
        " {\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"v\", 0, 0]}}],"
        " \"kwargs\": {\"key\": {\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"k\", 0, 0]}},"
        " \"training\": false, \"mask\": null}}");
    ck_node_call c;
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    expect_refs(&c, 3, (const char *[]){"q", "v", "k"}, (int[]){0, 0, 0});
    cr_expect_eq(c.n_args, 1);
    /* training and null defaults are dropped: ckeras takes the mode from
     * fit / predict */
    expect_json(c.kwargs, "{\"value\": {\"__ck_input__\": 1}, \"key\": {\"__ck_input__\": 2}}");
    ck_node_call_free(&c);
    json_decref(node);
    ck_layer_free(l);
}

Test(node_kwargs, list_valued_tensor_kwargs_and_missing_names)
{
    /* initial_state-like lists; absent names are skipped, order follows
     * kwarg_inputs, not the file. */
    ck_layer *l = make_layer("mha");
    json_t *node = parse("[[\"q\", 0, 0, {\"attention_mask\": [\"m\", 1, 0], "
                         "\"value\": [[\"a\", 0, 1], [\"a\", 0, 2]]}]]");
    ck_node_call c;
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    expect_refs(&c, 4, (const char *[]){"q", "a", "a", "m"}, (int[]){0, 1, 2, 0});
    cr_expect_eq(c.refs[3].node_index, 1);
    expect_json(c.kwargs, "{\"value\": [{\"__ck_input__\": 1}, {\"__ck_input__\": 2}], "
                          "\"attention_mask\": {\"__ck_input__\": 3}}");
    ck_node_call_free(&c);
    json_decref(node);
    ck_layer_free(l);
}

Test(node_kwargs, tensor_in_an_unknown_keyword_is_refused)
{
    ck_layer *l = make_layer("mha");
    json_t *node = parse("[[\"q\", 0, 0, {\"mask\": [\"m\", 0, 0]}]]");
    ck_node_call c;
    cr_expect_eq(ck_node_call_parse(l, node, &c), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "\"mask\"") && strstr(ck_last_error(), "\"mha\""), "%s", ck_last_error());
    ck_node_call_free(&c);
    json_decref(node);
    json_t *bad = parse("[[\"q\", 0, 0, [1, 2]]]");
    cr_expect_eq(ck_node_call_parse(l, bad, &c), CK_FORMAT_ERROR);
    ck_node_call_free(&c);
    json_decref(bad);
    /* the markers of the normalised form cannot come from a file */
    bad = parse("[\"q\", 0, 0, {\"value\": {\"__ck_input__\": 7}}]");
    cr_expect_eq(ck_node_call_parse(l, bad, &c), CK_FORMAT_ERROR);
    cr_expect(strstr(ck_last_error(), "__ck_input__"), "%s", ck_last_error());
    ck_node_call_free(&c);
    json_decref(bad);
    bad = parse("{\"args\": [[{\"__ck_constant__\": 1}]], \"kwargs\": {}}");
    cr_expect_eq(ck_node_call_parse(l, bad, &c), CK_FORMAT_ERROR);
    ck_node_call_free(&c);
    json_decref(bad);
    ck_layer_free(l);
}

Test(node_kwargs, tfoplambda_bare_tensor_and_constant)
{
    ck_layer *l = make_layer("tf.math.subtract");
    /* tf.keras 2.15: 3.0 - x */
    json_t *node = parse("[\"_CONSTANT_VALUE\", -1, 3.0, {\"y\": [\"x\", 0, 0], \"name\": null}]");
    ck_node_call c;
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_NOT_IMPLEMENTED); /* "y" is not an input name here */
    ck_node_call_free(&c);
    json_decref(node);
    /* a bare tensor is kept bare (not plain) */
    node = parse("[\"x\", 0, 0, {\"axis\": 1}]");
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    cr_expect_not(c.plain);
    expect_json(c.args, "{\"__ck_input__\": 0}");
    expect_json(c.kwargs, "{\"axis\": 1}");
    ck_node_call_free(&c);
    json_decref(node);
    node = parse("[[\"_CONSTANT_VALUE\", -1, [1.5, 2], {\"value\": [\"x\", 0, 0]}]]");
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    cr_expect_not(c.plain);
    cr_expect_eq(c.n_args, 0);
    expect_json(c.args, "[{\"__ck_constant__\": [1.5, 2]}]");
    ck_node_call_free(&c);
    json_decref(node);
    ck_layer_free(l);
}

static json_t *name_ref(const void *ctx, const ck_tensor *t)
{
    (void)ctx;
    const ck_keras_history *h = ck_tensor_history(t);
    return json_pack("[sii]", h->layer->name, 0, h->tensor_index);
}

/* Applies the layer to inputs named like the refs of `node_text` (made
 * with ck_input), records the call and writes it back. */
static void round_trip(const char *node_text, const char *want)
{
    json_t *node = parse(node_text);
    ck_layer *l = make_layer("layer");
    ck_node_call c;
    cr_assert_eq(ck_node_call_parse(l, node, &c), CK_OK, "%s", ck_last_error());
    ck_tensor *in[8];
    for (int i = 0; i < c.n_refs; i++) {
        cr_assert_eq(ck_input(&in[i], &(ck_input_opts){.shape = CK_TEST_SHAPE(3), .name = c.refs[i].layer}), CK_OK,
                     "%s", ck_last_error());
    }
    cr_assert_eq(record_kwargs(l, c.raw_kwargs), CK_OK);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_apply(l, c.n_refs, in, &out), CK_OK, "%s", ck_last_error());
    ck_node *made = l->inbound[0];
    ck_node_call_record(&c, made);
    ck_node_call_free(&c);
    json_t *written = NULL;
    cr_assert_eq(ck_node_call_write(made, name_ref, NULL, &written), CK_OK, "%s", ck_last_error());
    expect_json(written, want ? want : node_text);
    json_decref(written);
    json_decref(node);
    ck_layer_free(l);
    for (int i = 0; i < c.n_refs; i++) ck_layer_free(ck_tensor_layer(in[i]));
}

Test(node_kwargs, recorded_calls_write_back_as_tf_keras)
{
    round_trip("[[\"q\", 0, 0, {\"value\": [\"v\", 0, 0], \"key\": [\"k\", 0, 0], \"use_causal_mask\": true}]]",
               NULL);
    round_trip("[\"x\", 0, 0, {\"value\": [\"y\", 0, 0], \"name\": null}]", NULL);
    round_trip("[[\"a\", 0, 0, {\"axis\": 1}], [\"b\", 0, 0, {\"axis\": 1}]]", NULL);
    round_trip("[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]", NULL);
    round_trip("[[\"_CONSTANT_VALUE\", -1, 3.0, {\"value\": [\"x\", 0, 0]}]]", NULL);
    /* Keras 3's form is written as tf.keras 2.x writes it */
    round_trip("{\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"q\", 0, 0]}},"
               " {\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"v\", 0, 0]}}],"
               " \"kwargs\": {\"use_causal_mask\": true}}",
               "[[\"q\", 0, 0, {\"value\": [\"v\", 0, 0], \"use_causal_mask\": true}]]");
    round_trip("{\"args\": [[{\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"a\", 0, 0]}},"
               " {\"class_name\": \"__keras_tensor__\", \"config\": {\"keras_history\": [\"b\", 0, 0]}}]],"
               " \"kwargs\": {}}",
               "[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]");
}

/* Through the loader: a tf.keras 2.x config whose Dropout is called with
 * training=True keeps the keyword on save, and the plain Dense node stays
 * plain. */
Test(node_kwargs, loader_keeps_a_plain_layers_kwargs)
{
    const char *cfg =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], \"dtype\": \"float32\", "
        "\"name\": \"x\"}, \"name\": \"x\", \"inbound_nodes\": []},"
        "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.5}, \"name\": \"drop\", "
        "\"inbound_nodes\": [[[\"x\", 0, 0, {\"training\": true}]]]},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}, \"name\": \"d\", "
        "\"inbound_nodes\": [[[\"drop\", 0, 0, {}]]]}],"
        "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"d\", 0, 0]]}}";
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(cfg, &m), CK_OK, "%s", ck_last_error());
    char *text = NULL;
    cr_assert_eq(ck_model_to_json(m, &text), CK_OK);
    json_t *j = parse(text);
    const json_t *layers = json_object_get(json_object_get(j, "config"), "layers");
    expect_json(json_object_get(json_array_get(layers, 1), "inbound_nodes"), "[[[\"x\", 0, 0, {\"training\": true}]]]");
    expect_json(json_object_get(json_array_get(layers, 2), "inbound_nodes"), "[[[\"drop\", 0, 0, {}]]]");
    json_decref(j);
    ck_free(text);
    ck_model_free(m);
}

/* A node made from C records its keyword inputs for saving. */
Test(node_kwargs, c_made_node_records_kwarg_inputs)
{
    ck_layer *l = make_layer("mha");
    ck_tensor *in[3];
    const char *names[3] = {"q", "v", "k"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ck_input(&in[i], &(ck_input_opts){.shape = CK_TEST_SHAPE(3), .name = names[i]}), CK_OK);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_apply(l, 3, in, &out), CK_OK, "%s", ck_last_error());
    json_t *extra = parse("{\"use_causal_mask\": true}");
    cr_expect_eq(ck_node_record_kwarg_inputs(l->inbound[0], 1, (const char *[]){"value", NULL}, extra),
                 CK_VALUE_ERROR); /* no name for the third input */
    cr_assert_eq(ck_node_record_kwarg_inputs(l->inbound[0], 1, (const char *[]){"value", "key"}, extra), CK_OK);
    json_t *written = NULL;
    cr_assert_eq(ck_node_call_write(l->inbound[0], name_ref, NULL, &written), CK_OK, "%s", ck_last_error());
    expect_json(written, "[[\"q\", 0, 0, {\"value\": [\"v\", 0, 0], \"key\": [\"k\", 0, 0], \"use_causal_mask\": true}]]");
    json_decref(written);
    json_decref(extra);
    ck_layer_free(l);
    for (int i = 0; i < 3; i++) ck_layer_free(ck_tensor_layer(in[i]));
}
