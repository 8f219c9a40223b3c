// ctspine — umbrella header: everything the library offers. Each header is also usable on its own.
#pragma once

// core: volumes, geometry, orientation, errors, threading, progress
#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/orientation.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
// io: NIfTI (zlib, optional libdeflate)
#include "ctspine/io/nifti.hpp"
// imgproc: resampling (incl. nnU-Net mode), intensity, crop
#include "ctspine/imgproc/crop.hpp"
#include "ctspine/imgproc/intensity.hpp"
#include "ctspine/imgproc/nnunet_resample.hpp"
#include "ctspine/imgproc/resample.hpp"
// label: connected components, vertebra schemes, clean-up, measurements
#include "ctspine/label/connected_components.hpp"
#include "ctspine/label/label_schemes.hpp"
#include "ctspine/label/measurements.hpp"
#include "ctspine/label/report.hpp"
#include "ctspine/label/vertebrae.hpp"
// nn: CPU 3D U-Net engine (PlainConvUNet / ResidualEncoderUNet) on ctspine's own blocked SIMD kernels
#include "ctspine/nn/unet.hpp"
// nn: nnU-Net sliding-window prediction (fp16 accumulation emulated with core/half.hpp); the segmentation pipeline
// (ctspine/pipeline/segment.hpp) needs nlohmann_json through the model loader and is included separately
#include "ctspine/core/half.hpp"
#include "ctspine/nn/sliding_window.hpp"
// io: PyTorch checkpoints (zip + restricted pickle, no dependencies); nnU-Net v2 model folders need nlohmann_json
#include "ctspine/io/pickle.hpp"
#include "ctspine/io/torch_checkpoint.hpp"
#include "ctspine/io/zip_reader.hpp"
#ifdef CTSPINE_HAVE_NLOHMANN_JSON
#include "ctspine/io/nnunet_model.hpp"
#include "ctspine/io/nnunet_plans.hpp"
#endif
