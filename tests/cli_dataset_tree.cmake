# Build the small CTSpine1K-shaped trees the `ctspine dataset` ctests run on (DATA = examples/data, OUT = a folder):
#   OUT/src:    liver_1 and CTC-0123456789 (CT + label map), HN_P001 (CT only) — the committed lumbar CT cut-out and
#               its vertebra mask under CTSpine1K names; OUT/split.txt puts CTC-0123456789 in test_public
#   OUT/broken: liver_1 (CT + label map) and liver_17, whose label map is a text file (label_unreadable)
file(REMOVE_RECURSE ${OUT})
foreach(case liver_1 CTC-0123456789)
  configure_file(${DATA}/sub-ct_label-22_ct.nii.gz ${OUT}/src/${case}.nii.gz COPYONLY)
  configure_file(${DATA}/sub-ct_seg-vert_label-22_msk.nii.gz ${OUT}/src/${case}_seg.nii.gz COPYONLY)
endforeach()
configure_file(${DATA}/sub-ct_label-22_ct.nii.gz ${OUT}/src/HN_P001.nii.gz COPYONLY)
file(WRITE ${OUT}/split.txt "trainset:\nliver_1.nii.gz\nHN_P001.nii.gz\n\ntest_public:\nCTC-0123456789.nii.gz\n\ntest_private:\n")
foreach(case liver_1 liver_17)
  configure_file(${DATA}/sub-ct_label-22_ct.nii.gz ${OUT}/broken/${case}.nii.gz COPYONLY)
endforeach()
configure_file(${DATA}/sub-ct_seg-vert_label-22_msk.nii.gz ${OUT}/broken/liver_1_seg.nii.gz COPYONLY)
file(WRITE ${OUT}/broken/liver_17_seg.nii.gz "not a NIfTI file\n")
