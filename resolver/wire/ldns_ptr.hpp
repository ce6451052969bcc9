// Owning handles for ldns objects (used at load time only).
#pragma once

#include <ldns/ldns.h>

#include <memory>

namespace vpcedns::wire {

struct rdf_free {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct rr_free {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct buffer_free {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using rdf_ptr = std::unique_ptr<ldns_rdf, rdf_free>;
using rr_ptr = std::unique_ptr<ldns_rr, rr_free>;
using buffer_ptr = std::unique_ptr<ldns_buffer, buffer_free>;

}  // namespace vpcedns::wire
