/* SPDX-License-Identifier: MIT */
/*
 * The hwsim devspec arguments ("uplinks=2,pfs=1,vfs=4,ring=256,engine=thread,
 * mtu=1500"), parsed once for the hwsim backend and hwsim's PCIe device
 * front end alike. Internal (hidden symbol).
 */
#ifndef DPAK_HWSIM_ARGS_H
#define DPAK_HWSIM_ARGS_H

#include "hwsim.h"

/* Fill @cfg's ports, ring size, engine and MTU from @args (the rest of
 * @cfg zeroed). Returns 0 or a negative errno with dpak_errmsg() naming
 * the argument. */
int dpak__hwsim_parse_args(const char *args, struct hw_dev_cfg *cfg);

#endif
