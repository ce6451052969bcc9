#include "wire/render.hpp"

#include "wire/ldns_ptr.hpp"

#include <ldns/ldns.h>

#include <cstdio>
#include <memory>

namespace vpcedns::wire {

std::optional<std::string> name_from_text(std::string_view text) {
  std::string s(text);
  if (s.empty() || s.back() != '.') s += '.';
  std::unique_ptr<ldns_rdf, rdf_free> rdf(ldns_dname_new_frm_str(s.c_str()));
  if (!rdf) return std::nullopt;
  ldns_dname2canonical(rdf.get());
  return std::string(reinterpret_cast<const char*>(ldns_rdf_data(rdf.get())),
                     ldns_rdf_size(rdf.get()));
}

std::optional<std::vector<uint8_t>> rdata_from_text(std::string_view rtype,
                                                    std::string_view rdata) {
  // Owner and TTL are placeholders: only the RDATA is kept.
  std::string text = ". 0 IN " + std::string(rtype) + " " + std::string(rdata);
  ldns_rr* raw = nullptr;
  if (ldns_rr_new_frm_str(&raw, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
    return std::nullopt;
  std::unique_ptr<ldns_rr, rr_free> rr(raw);
  std::unique_ptr<ldns_buffer, buffer_free> buf(ldns_buffer_new(256));
  if (ldns_rr_rdata2buffer_wire(buf.get(), rr.get()) != LDNS_STATUS_OK) return std::nullopt;
  const uint8_t* p = ldns_buffer_begin(buf.get());
  return std::vector<uint8_t>(p, p + ldns_buffer_position(buf.get()));
}

const char* type_name(uint16_t rtype) {
  const ldns_rr_descriptor* d = ldns_rr_descript(rtype);
  if (d && d->_name) return d->_name;
  thread_local char buf[16];
  std::snprintf(buf, sizeof buf, "TYPE%u", rtype);
  return buf;
}

}  // namespace vpcedns::wire
