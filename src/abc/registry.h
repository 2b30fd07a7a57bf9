/* The table of plugin layer types: cfg section name -> parse/make, weights
 * size/load/save, resize (layers/layer_type.h). Adding a layer type = one row
 * in registry.c plus the layer's own folder. */
#ifndef ABC_REGISTRY_H
#define ABC_REGISTRY_H

#include "layers/layer_type.h"

/* Plugin layers get LAYER_TYPE values libdarknet does not know. */
#define ABC_LAYER_TYPE_BASE 100

/* Type of a section name ("abc_convolutional", no brackets), or NULL. */
const abc_layer_type *abc_registry_find(const char *name);
/* Type of a layer built by a plugin, or NULL for a stock layer. */
const abc_layer_type *abc_registry_of(const layer *l);
/* A layer's kind for messages: its plugin section name, or convolutional, connected, ... ("layer" otherwise). */
const char *abc_layer_name(const layer *l);
/* Layers with soft binary weights (weight quantizers): the largest beta of their last training (or soft)
 * forward and the share of all their soft weights within 0.01 of +-1 then; returns 0 (and leaves both) if the
 * network has none. */
int abc_net_binarization(const network *net, float *beta, float *near_binary);
/* Adds a type at run time (tests); returns its LAYER_TYPE value. */
int abc_registry_add(const abc_layer_type *t);
int abc_registry_count(void);
const abc_layer_type *abc_registry_at(int i);

/* Whether a section of type t may hold key (its own keys, or those every layer takes: learning_rate, ...). */
int abc_layer_accepts_key(const abc_layer_type *t, const char *key);
/* 1 for the keys every layer takes, stock or plugin (learning_rate, dontload, ...). */
int abc_layer_common_key(const char *key);

#endif
