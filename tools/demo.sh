#!/bin/sh
# make demo: ckeras on data that ships with the project.
#  1. batch_dot on the documented examples, beside what Keras gives;
#  2. the siamese model of ms2deepscore (tf.keras 2.4, Apache-2.0): its
#     summary, and the cosine matrix of its 4 input spectra beside the
#     values real Keras gave;
#  3. TensorFlow's "Basic classification" tutorial trained in C on the real
#     Fashion-MNIST files of Debian's dataset-fashion-mnist (10 epochs; set
#     FASHION_EPOCHS=1 for a quick run), saved into the build directory.
set -e
BUILD=${1:-build}
DATA=tests/data/keras/siamese-cosine-dot-keras2_4
echo "=== 1. backend.batch_dot ==========================================================="
"$BUILD/examples/batch_dot_demo"
echo
echo "=== 2. a real Keras model: $DATA/testmodel.hdf5 ==="
echo "\$ ckeras summary $DATA/testmodel.hdf5"
"$BUILD/ckeras" summary "$DATA/testmodel.hdf5"
echo
"$BUILD/examples/siamese_demo" "$DATA/testmodel.hdf5" "$DATA/inputs_binned_4x339.txt" "$DATA/expected_outputs.json"
echo
FASHION=/usr/share/datasets/fashion-mnist
echo "=== 3. training: TensorFlow's Basic classification tutorial on Fashion-MNIST ========"
if [ -r "$FASHION/train-images-idx3-ubyte.gz" ]; then
  "$BUILD/examples/fashion_mnist" --epochs "${FASHION_EPOCHS:-10}" --data "$FASHION" --out-dir "$BUILD"
else
  echo "(skipped: $FASHION is missing; apt-get install dataset-fashion-mnist)"
fi
