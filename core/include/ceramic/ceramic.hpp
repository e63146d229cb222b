// ceramic — synchronous channels between processes. Umbrella header.
#pragma once

#include "ceramic/chan.hpp"
#include "ceramic/options.hpp"
#include "ceramic/proc.hpp"
#include "ceramic/select.hpp"
#include "ceramic/site.hpp"
#include "ceramic/status.hpp"
