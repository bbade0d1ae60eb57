#ifndef SFGIT_YAML_SHIM_H
#define SFGIT_YAML_SHIM_H
#include <yaml.h>
#endif
