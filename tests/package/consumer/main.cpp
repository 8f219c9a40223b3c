// A minimal program that uses ctspine as a downstream project would.
#include <ctspine/ctspine.hpp>

int main() {
    ctspine::volume<float> v(ctspine::dims3{4, 3, 2}, 1.5f);
    double sum = 0;
    for (float x : v) sum += x;
    return (v.size() == 24 && sum == 36.0) ? 0 : 1;
}
