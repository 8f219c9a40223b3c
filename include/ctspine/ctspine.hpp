// ctspine — umbrella header: everything the library offers.
// See README.md for the data path; every arrow of it is a separately usable function.
#pragma once

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
// (areas add their headers here: io/, imgproc/, label/, nn/, pipeline/)
