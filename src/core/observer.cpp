#include "core/observer.h"

namespace kvscope {

std::string_view op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbedding:
      return "embedding";
    case OpKind::kNorm:
      return "norm";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kFeedForward:
      return "feed_forward";
    case OpKind::kOutputHead:
      return "output_head";
    case OpKind::kSampling:
      return "sampling";
  }
  return "?";
}

}  // namespace kvscope
