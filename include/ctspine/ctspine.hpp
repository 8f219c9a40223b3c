// ctspine — umbrella header: everything the library offers. Each header is also usable on its own.
// The data path: read_nifti → reorient/crop → window / CT-normalise → resample → sliding window × unet → export
// resampling + argmax → connected components, vertebra clean-up → write_nifti / JSON / CSV. pipeline/segment.hpp composes it.
#pragma once

// the library version (CTSPINE_VERSION_* macros, ctspine::version())
#include "ctspine/version.hpp"

// core: volumes, geometry, orientation, errors, threading, progress, fp16, run-time ISA choice
#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/half.hpp"
#include "ctspine/core/numpy_sum.hpp"
#include "ctspine/core/orientation.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
// io: NIfTI (zlib, optional libdeflate), PNG, atomic file writing
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/io/nifti.hpp"
#include "ctspine/io/png.hpp"
// model: model-file formats — PyTorch checkpoints (zip + restricted pickle)
#include "ctspine/model/pickle.hpp"
#include "ctspine/model/torch_checkpoint.hpp"
#include "ctspine/model/zip_reader.hpp"
// imgproc: resampling (incl. nnU-Net mode), intensity, crop
#include "ctspine/imgproc/crop.hpp"
#include "ctspine/imgproc/intensity.hpp"
#include "ctspine/imgproc/nnunet_resample.hpp"
#include "ctspine/imgproc/resample.hpp"
// label: connected components, vertebra schemes, clean-up, measurements, reports
#include "ctspine/label/connected_components.hpp"
#include "ctspine/label/label_schemes.hpp"
#include "ctspine/label/measurements.hpp"
#include "ctspine/label/preview.hpp"
#include "ctspine/label/report.hpp"
#include "ctspine/label/vertebrae.hpp"
// mesh: per-label watertight surface meshes (world mm), smoothing, decimation, checks, STL/PLY/OBJ
#include "ctspine/mesh/decimation.hpp"
#include "ctspine/mesh/mesh.hpp"
#include "ctspine/mesh/mesh_check.hpp"
#include "ctspine/mesh/mesh_distance.hpp"
#include "ctspine/mesh/mesh_io.hpp"
#include "ctspine/mesh/mesh_render.hpp"
#include "ctspine/mesh/smoothing.hpp"
#include "ctspine/mesh/surface_extraction.hpp"
// evaluate: scoring a segmentation against a reference (nnU-Net v1 overlap, medpy distances, DeepMind surface Dice,
// VerSe identification), exact linear-time EDT, grouped tables
#include "ctspine/evaluate/benchmark_table.hpp"
#include "ctspine/evaluate/distance_transform.hpp"
#include "ctspine/evaluate/evaluate.hpp"
#include "ctspine/evaluate/identification.hpp"
#include "ctspine/evaluate/nnunet_summary.hpp"
#include "ctspine/evaluate/overlap.hpp"
#include "ctspine/evaluate/summary.hpp"
#include "ctspine/evaluate/surface_dice.hpp"
#include "ctspine/evaluate/surface_distance.hpp"
// dataset: spine-CT datasets on disk (CTSpine1K sources and split file, layouts, header index, checks, nnU-Net export)
#include "ctspine/dataset/check.hpp"
#include "ctspine/dataset/ctspine1k.hpp"
#include "ctspine/dataset/index.hpp"
#include "ctspine/dataset/layout.hpp"
#include "ctspine/dataset/nnunet_export.hpp"
// nn: the U-Net engine and nnU-Net's sliding-window prediction
#include "ctspine/nn/sliding_window.hpp"
#include "ctspine/nn/unet.hpp"
// nnU-Net model folders (plans.json needs nlohmann_json) and the end-to-end segmenter
#if defined(CTSPINE_HAVE_NLOHMANN_JSON) || __has_include(<nlohmann/json.hpp>)
#include "ctspine/model/nnunet_model.hpp"
#include "ctspine/model/nnunet_plans.hpp"
#include "ctspine/model/nnunet_v1.hpp"
#include "ctspine/pipeline/batch.hpp"
#include "ctspine/pipeline/nnunet_v1_postprocessing.hpp"
#include "ctspine/pipeline/nnunet_v1_predict.hpp"
#include "ctspine/pipeline/probabilities.hpp"
#include "ctspine/pipeline/segment.hpp"
#include "ctspine/pipeline/vertebra_classes.hpp"
#endif
