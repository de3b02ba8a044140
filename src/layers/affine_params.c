/* The normalization layers' gamma / beta arguments (affine_params.h). */
#include <string.h>

#include "layers/affine_params.h"

ck_status ck_affine_from_opts(ck_affine_params *p, bool no_center, bool no_scale, const ck_affine_names *names)
{
    p->center = !no_center;
    p->scale = !no_scale;
    ck_status st = CK_OK;
    if (names->beta_initializer) st = ck_initializer_new(&p->beta_init, names->beta_initializer);
    if (st == CK_OK && names->gamma_initializer) st = ck_initializer_new(&p->gamma_init, names->gamma_initializer);
    if (st == CK_OK && names->beta_regularizer) st = ck_regularizer_new(&p->beta_reg, names->beta_regularizer);
    if (st == CK_OK && names->gamma_regularizer) st = ck_regularizer_new(&p->gamma_reg, names->gamma_regularizer);
    if (st == CK_OK && names->beta_constraint) st = ck_constraint_new(&p->beta_con, names->beta_constraint);
    if (st == CK_OK && names->gamma_constraint) st = ck_constraint_new(&p->gamma_con, names->gamma_constraint);
    return st;
}

ck_status ck_affine_from_config(ck_affine_params *p, const json_t *c, const char *cls, int keras1_names)
{
    CK_TRY(ck_arg_bool(json_object_get(c, "center"), cls, "center", &p->center));
    CK_TRY(ck_arg_bool(json_object_get(c, "scale"), cls, "scale", &p->scale));
    const json_t *bi = keras1_names ? ck_arg_get2(c, "beta_initializer", "beta_init")
                                    : json_object_get(c, "beta_initializer");
    const json_t *gi = keras1_names ? ck_arg_get2(c, "gamma_initializer", "gamma_init")
                                    : json_object_get(c, "gamma_initializer");
    ck_status st = ck_initializer_from_json(bi, &p->beta_init);
    if (st == CK_OK) st = ck_initializer_from_json(gi, &p->gamma_init);
    if (st == CK_OK) st = ck_regularizer_from_json(json_object_get(c, "beta_regularizer"), &p->beta_reg);
    if (st == CK_OK) st = ck_regularizer_from_json(json_object_get(c, "gamma_regularizer"), &p->gamma_reg);
    if (st == CK_OK) st = ck_constraint_from_json(json_object_get(c, "beta_constraint"), &p->beta_con);
    if (st == CK_OK) st = ck_constraint_from_json(json_object_get(c, "gamma_constraint"), &p->gamma_con);
    return st;
}

ck_status ck_affine_finish(ck_affine_params *to, ck_affine_params *from)
{
    if (!from->beta_init) CK_TRY(ck_initializer_new(&from->beta_init, "zeros"));
    if (!from->gamma_init) CK_TRY(ck_initializer_new(&from->gamma_init, "ones"));
    *to = *from;
    memset(from, 0, sizeof *from);
    return CK_OK;
}

void ck_affine_free(ck_affine_params *p)
{
    ck_initializer_free(p->beta_init);
    ck_initializer_free(p->gamma_init);
    ck_regularizer_free(p->beta_reg);
    ck_regularizer_free(p->gamma_reg);
    ck_constraint_free(p->beta_con);
    ck_constraint_free(p->gamma_con);
    memset(p, 0, sizeof *p);
}

ck_status ck_affine_add_weights(ck_layer *layer, const ck_affine_params *p, const ck_shape *shape, ck_weight **gamma,
                                ck_weight **beta)
{
    *gamma = *beta = NULL;
    if (p->scale)
        CK_TRY(ck_layer_add_weight_with(layer, "gamma", shape, layer->dtype, p->gamma_init, p->gamma_reg,
                                        p->gamma_con, true, gamma));
    if (p->center)
        CK_TRY(ck_layer_add_weight_with(layer, "beta", shape, layer->dtype, p->beta_init, p->beta_reg, p->beta_con,
                                        true, beta));
    return CK_OK;
}

ck_status ck_affine_config_head(const ck_affine_params *p, json_t *c)
{
    ck_status st = ck_json_set(c, "center", json_boolean(p->center));
    if (st == CK_OK) st = ck_json_set(c, "scale", json_boolean(p->scale));
    if (st == CK_OK) st = ck_json_set(c, "beta_initializer", ck_initializer_to_json(p->beta_init));
    if (st == CK_OK) st = ck_json_set(c, "gamma_initializer", ck_initializer_to_json(p->gamma_init));
    return st;
}

ck_status ck_affine_config_tail(const ck_affine_params *p, json_t *c)
{
    ck_status st = ck_json_set(c, "beta_regularizer", ck_regularizer_to_json(p->beta_reg));
    if (st == CK_OK) st = ck_json_set(c, "gamma_regularizer", ck_regularizer_to_json(p->gamma_reg));
    if (st == CK_OK) st = ck_json_set(c, "beta_constraint", ck_constraint_to_json(p->beta_con));
    if (st == CK_OK) st = ck_json_set(c, "gamma_constraint", ck_constraint_to_json(p->gamma_con));
    return st;
}
