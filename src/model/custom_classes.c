/* ck_register_layer_class: the one registration that needs the list of
 * built-in classes (a user class may not take a built-in's name), which
 * lives on this floor; the registry itself is layers/custom_registry.c. */
#include "layers/custom_layer.h"
#include "model/model.h"

ck_status ck_register_layer_class(const ck_custom_layer_class *cls)
{
    CK_NEED(cls);
    if (cls->class_name && ck_layer_class_find(cls->class_name))
        return ck_error(CK_VALUE_ERROR, "ck_register_layer_class: '%s' is a built-in layer class; a user class "
                        "needs another name", cls->class_name);
    return ck_custom_registry_add(CK_CUSTOM_CLASS, __func__, cls->class_name, cls);
}
