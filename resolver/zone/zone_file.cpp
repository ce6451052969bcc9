#include "zone/zone_file.hpp"

#include "config/config.hpp"
#include "wire/ldns_ptr.hpp"  // after the std headers config.hpp pulls in: ldns touches bool

#include <ldns/ldns.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <climits>
#include <cstdlib>

namespace vpcedns::zone {

namespace {

constexpr std::size_t max_file_size = 64 * 1024 * 1024;
constexpr std::size_t max_include_depth = 16;

using wire::buffer_free;
using wire::rdf_ptr;
using wire::rr_ptr;

// One logical line of a master file: its tokens, with parentheses removed.
struct entry {
  unsigned line = 0;
  bool blank_owner = false;  // began with white space: same owner as the previous record
  std::vector<std::string> tokens;
};

// Signals that the file cannot be read further (the problem is already noted).
struct stop_reading {};

std::string rdf_text(const ldns_rdf* r) {
  char* s = ldns_rdf2str(r);
  std::string out = s ? s : "?";
  std::free(s);
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// RFC 2181 8: 0..2^31-1 seconds. Also the BIND unit form ("1h30m", "2d").
std::optional<uint32_t> parse_ttl(const std::string& t) {
  if (t.empty()) return std::nullopt;
  uint64_t total = 0, number = 0;
  bool digits = false, units = false;
  for (char c : t) {
    if (c >= '0' && c <= '9') {
      number = number * 10 + uint64_t(c - '0');
      digits = true;
      if (number > INT32_MAX) return std::nullopt;
      continue;
    }
    static const std::map<char, uint64_t> unit = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    auto u = unit.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (!digits || u == unit.end()) return std::nullopt;
    total += number * u->second;
    number = 0;
    digits = false;
    units = true;
  }
  if (digits && units) return std::nullopt;  // "1h5": a number left without its unit
  total += number;
  if (total > INT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(total);
}

bool is_class(const std::string& t) {
  std::string u = upper(t);
  return u == "IN" || u == "CH" || u == "CS" || u == "HS" || u == "ANY" || u == "NONE" ||
         (u.starts_with("CLASS") && u.size() > 5);
}

bool meta_type(uint16_t t) {
  // RFC 6895 3.1: QTYPEs and meta types are never zone data.
  return t == LDNS_RR_TYPE_OPT || (t >= 128 && t <= 255) || t == 0;
}

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Splits master-file text into entries (RFC 1035 5.1).
class tokenizer {
 public:
  tokenizer(const std::string& text, std::vector<std::string>& problems, const std::string& file)
      : text_(text), problems_(problems), file_(file) {}

  std::vector<entry> run() {
    std::vector<entry> out;
    entry cur;
    int depth = 0;
    unsigned open_line = 0;
    bool at_line_start = true;
    std::string token;
    bool in_token = false, quoted = false;
    auto end_token = [&] {
      if (in_token) cur.tokens.push_back(token);
      token.clear();
      in_token = false;
    };
    for (std::size_t i = 0; i < text_.size(); ++i) {
      char c = text_[i];
      if (at_line_start && depth == 0 && cur.tokens.empty() && !in_token) {
        cur.line = line_;
        cur.blank_owner = c == ' ' || c == '\t';
      }
      at_line_start = false;
      if (quoted) {
        token += c;
        if (c == '\\' && i + 1 < text_.size())
          token += text_[++i];
        else if (c == '"')
          quoted = false;
        else if (c == '\n')
          return unterminated(), out;
        continue;
      }
      if (c == '\\' && i + 1 < text_.size()) {
        token += c;
        token += text_[++i];
        in_token = true;
      } else if (c == '"') {
        token += c;
        quoted = in_token = true;
      } else if (c == ';') {
        while (i + 1 < text_.size() && text_[i + 1] != '\n') ++i;
      } else if (c == '(') {
        end_token();
        if (depth++ == 0) open_line = line_;
      } else if (c == ')') {
        end_token();
        if (--depth < 0) {
          problems_.push_back(where() + ": ')' without a matching '('");
          return out;
        }
      } else if (c == ' ' || c == '\t' || c == '\r') {
        end_token();
      } else if (c == '\n') {
        end_token();
        ++line_;
        at_line_start = true;
        if (depth == 0 && !cur.tokens.empty()) out.push_back(std::move(cur));
        if (depth == 0) cur = entry{};
      } else {
        token += c;
        in_token = true;
      }
    }
    if (quoted) return unterminated(), out;
    end_token();
    if (depth > 0) {
      problems_.push_back(file_ + ":" + std::to_string(open_line) + ": '(' is never closed");
      return out;
    }
    if (!cur.tokens.empty()) out.push_back(std::move(cur));
    return out;
  }

 private:
  std::string where() const { return file_ + ":" + std::to_string(line_); }
  void unterminated() {
    problems_.push_back(where() + ": quoted string runs past the end of the line");
  }

  const std::string& text_;
  std::vector<std::string>& problems_;
  const std::string& file_;
  unsigned line_ = 1;
};

// Parses one zone, following $INCLUDEs.
class loader {
 public:
  loader(zone_file& z, ldns_rdf* apex) : z_(z), apex_(apex) {}

  std::vector<std::string> problems;

  // Reads `path` with `origin` as its initial $ORIGIN. `from` is the
  // "file:line" of the $INCLUDE that names it, empty for the zone file.
  void read_file(const std::string& path, const ldns_rdf* origin, std::optional<uint32_t> ttl,
                 const std::string& from);

 private:
  struct file_state {
    std::string path;
    rdf_ptr origin;
    std::optional<uint32_t> default_ttl;  // $TTL
    std::optional<uint32_t> last_ttl;     // RFC 1035 5.1: the last stated TTL
    std::string prev_owner;               // absolute text
  };

  void note(const file_state& f, unsigned line, const std::string& problem) {
    problems.push_back(f.path + ":" + std::to_string(line) + ": " + problem);
    if (problems.size() >= max_zone_errors) throw stop_reading{};
  }
  void directive(file_state& f, const entry& e);
  void include(file_state& f, const entry& e);
  void add_record(file_state& f, const entry& e);
  std::optional<std::string> owner_text(file_state& f, const entry& e, std::size_t& i);
  rdf_ptr name(const file_state& f, const std::string& text) const;
  void keep(const file_state& f, const entry& e, const ldns_rr* rr, uint32_t ttl);

  zone_file& z_;
  ldns_rdf* apex_;
  std::vector<std::string> stack_;  // real paths being read, for loop detection
};

bool read_text(const std::string& path, std::string& text, std::string& why) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return why = std::strerror(errno), false;
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f.get())) {
    text.append(buf, n);
    if (text.size() > max_file_size) return why = "larger than 64 MiB", false;
  }
  if (std::ferror(f.get())) return why = std::strerror(errno), false;
  return true;
}

void loader::read_file(const std::string& path, const ldns_rdf* origin, std::optional<uint32_t> ttl,
                       const std::string& from) {
  std::string prefix = from.empty() ? path : from;
  char real[PATH_MAX];
  std::string key = ::realpath(path.c_str(), real) ? real : path;
  if (std::find(stack_.begin(), stack_.end(), key) != stack_.end()) {
    problems.push_back(from + ": $INCLUDE loop: " + path + " is already being read");
    throw stop_reading{};
  }
  if (stack_.size() >= max_include_depth) {
    problems.push_back(from + ": $INCLUDE nested more than 16 deep");
    throw stop_reading{};
  }
  std::string text, why;
  if (!read_text(path, text, why)) {
    problems.push_back(prefix + ": cannot read" + (from.empty() ? "" : " " + path) + ": " + why);
    throw stop_reading{};
  }

  stack_.push_back(key);
  file_state f{path, rdf_ptr(ldns_rdf_clone(origin)), ttl, std::nullopt, {}};
  std::size_t before = problems.size();
  auto entries = tokenizer(text, problems, path).run();
  if (problems.size() > before) throw stop_reading{};
  for (const entry& e : entries) {
    if (!e.blank_owner && e.tokens[0].starts_with("$"))
      directive(f, e);
    else
      add_record(f, e);
  }
  stack_.pop_back();
}

rdf_ptr loader::name(const file_state& f, const std::string& text) const {
  if (text == "@") return rdf_ptr(ldns_rdf_clone(f.origin.get()));
  rdf_ptr n(ldns_dname_new_frm_str(text.c_str()));
  if (!n) return nullptr;
  if (!text.ends_with('.') || text.ends_with("\\.")) {
    if (ldns_dname_cat(n.get(), f.origin.get()) != LDNS_STATUS_OK) return nullptr;
  }
  return n;
}

void loader::directive(file_state& f, const entry& e) {
  std::string d = upper(e.tokens[0]);
  if (d == "$INCLUDE") return include(f, e);
  if (d != "$ORIGIN" && d != "$TTL")
    return note(f, e.line,
                "unsupported directive " + e.tokens[0] + "; supported: $ORIGIN, $TTL, $INCLUDE");
  if (e.tokens.size() != 2) return note(f, e.line, d + " takes exactly one value");
  if (d == "$TTL") {
    auto ttl = parse_ttl(e.tokens[1]);
    if (!ttl)
      return note(f, e.line,
                  "$TTL \"" + e.tokens[1] + "\" is not a TTL; use seconds " +
                      "0-2147483647 (RFC 2181 8) or units such as 1h, 2d");
    f.default_ttl = ttl;
    return;
  }
  rdf_ptr origin = name(f, e.tokens[1]);
  if (!origin) return note(f, e.line, "$ORIGIN \"" + e.tokens[1] + "\" is not a domain name");
  f.origin = std::move(origin);
}

void loader::include(file_state& f, const entry& e) {
  if (e.tokens.size() < 2 || e.tokens.size() > 3)
    return note(f, e.line, "$INCLUDE takes a file name and an optional origin");
  std::string target = e.tokens[1];
  if (!target.starts_with("/")) target = dirname_of(f.path) + target;
  rdf_ptr origin(ldns_rdf_clone(f.origin.get()));
  if (e.tokens.size() == 3 && !(origin = name(f, e.tokens[2])))
    return note(f, e.line, "$INCLUDE origin \"" + e.tokens[2] + "\" is not a domain name");
  ++z_.includes;
  read_file(target, origin.get(), f.default_ttl ? f.default_ttl : f.last_ttl,
            f.path + ":" + std::to_string(e.line));
}

std::optional<std::string> loader::owner_text(file_state& f, const entry& e, std::size_t& i) {
  if (e.blank_owner) {
    if (f.prev_owner.empty()) {
      note(f, e.line, "record has no owner name and there is no previous record to take it from");
      return std::nullopt;
    }
    return f.prev_owner;
  }
  rdf_ptr owner = name(f, e.tokens[i++]);
  if (!owner) {
    note(f, e.line, "owner \"" + e.tokens[0] + "\" is not a domain name");
    return std::nullopt;
  }
  return rdf_text(owner.get());
}

void loader::add_record(file_state& f, const entry& e) {
  std::size_t i = 0;
  auto owner = owner_text(f, e, i);
  if (!owner) return;
  f.prev_owner = *owner;

  // [TTL] [class] or [class] [TTL], then the type (RFC 1035 5.1).
  std::optional<uint32_t> ttl;
  for (int k = 0; k < 2 && i < e.tokens.size(); ++k) {
    const std::string& t = e.tokens[i];
    if (std::isdigit(static_cast<unsigned char>(t[0]))) {
      if (!(ttl = parse_ttl(t)))
        return note(f, e.line,
                    "bad TTL \"" + t + "\"; use seconds 0-2147483647 (RFC 2181 8) " +
                        "or units such as 1h, 2d");
    } else if (is_class(t)) {
      if (upper(t) != "IN") return note(f, e.line, "class " + t + " is not supported; only IN");
    } else {
      break;
    }
    ++i;
  }
  if (i >= e.tokens.size()) return note(f, e.line, "record has no type");
  const std::string& type_text = e.tokens[i++];
  uint16_t rtype = ldns_get_rr_type_by_name(type_text.c_str());
  if (rtype == 0 || meta_type(rtype))
    return note(f, e.line,
                "unknown record type \"" + type_text +
                    "\"; use a type name such as A, AAAA, CNAME, MX, TXT, SRV, " +
                    "or TYPEnnn (RFC 3597)");
  // DNAME (RFC 6672) would need name synthesis that vpcedns does not do, and
  // Route 53 has no DNAME either: refuse it rather than serve it as inert data.
  if (rtype == LDNS_RR_TYPE_DNAME)
    return note(f, e.line, "DNAME is not supported (Route 53 has none); use a CNAME per name");
  if (i >= e.tokens.size()) return note(f, e.line, type_text + " record has no data");
  if (ttl)
    f.last_ttl = ttl;
  else
    ttl = f.default_ttl ? f.default_ttl : f.last_ttl;
  if (!ttl) return note(f, e.line, "record has no TTL and no $TTL came before it; add $TTL");

  std::string text = *owner + " " + std::to_string(*ttl) + " IN " + type_text;
  for (std::size_t k = i; k < e.tokens.size(); ++k) text += " " + e.tokens[k];
  ldns_rr* raw = nullptr;
  ldns_status st = ldns_rr_new_frm_str(&raw, text.c_str(), 0, f.origin.get(), nullptr);
  rr_ptr rr(raw);
  if (st != LDNS_STATUS_OK)
    return note(
        f, e.line,
        "cannot parse this " + upper(type_text) + " record's data: " + ldns_get_errorstr_by_id(st));
  keep(f, e, rr.get(), *ttl);
}

void loader::keep(const file_state& f, const entry& e, const ldns_rr* rr, uint32_t ttl) {
  ldns_rdf* owner = ldns_rr_owner(rr);
  if (ldns_dname_compare(owner, apex_) != 0 && !ldns_dname_is_subdomain(owner, apex_))
    return note(f, e.line,
                "out-of-zone data: " + rdf_text(owner) + " is not in zone " + z_.apex_text);
  rdf_ptr lower(ldns_rdf_clone(owner));
  ldns_dname2canonical(lower.get());
  std::unique_ptr<ldns_buffer, buffer_free> buf(ldns_buffer_new(512));
  if (ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK ||
      ldns_buffer_position(buf.get()) > 0xffff)
    return note(f, e.line, "record data too large");
  const uint8_t* p = ldns_buffer_begin(buf.get());
  record r;
  r.owner.assign(reinterpret_cast<const char*>(ldns_rdf_data(lower.get())),
                 ldns_rdf_size(lower.get()));
  r.rtype = ldns_rr_get_type(rr);
  r.ttl = ttl;
  r.rdata.assign(p, p + ldns_buffer_position(buf.get()));
  r.where = f.path + ":" + std::to_string(e.line);
  z_.records.push_back(std::move(r));
}

// Zone-level rules, once every record is read.
void check_zone(const zone_file& z, std::vector<std::string>& problems) {
  const record* soa = nullptr;
  std::map<std::string, std::pair<const record*, std::set<uint16_t>>> by_owner;
  for (const auto& r : z.records) {
    auto& [first, types] = by_owner[r.owner];
    if (!first) first = &r;
    if (r.rtype == LDNS_RR_TYPE_SOA) {
      if (r.owner != z.apex)
        problems.push_back(r.where + ": SOA is not at the zone apex " + z.apex_text +
                           "; a zone has exactly one SOA, at its apex");
      else if (soa)
        problems.push_back(r.where + ": second SOA record (the first is at " + soa->where +
                           "); a zone has exactly one");
      else
        soa = &r;
    }
    bool cname = r.rtype == LDNS_RR_TYPE_CNAME, had_cname = types.count(LDNS_RR_TYPE_CNAME) > 0;
    if ((cname && !types.empty()) || (!cname && had_cname))
      problems.push_back(r.where + ": a CNAME cannot share its name with other records " +
                         "(RFC 2181 10.1); see " + first->where);
    types.insert(r.rtype);
  }
  if (!soa) {
    std::string at = z.records.empty() ? z.path + ":1" : z.records.front().where;
    problems.push_back(at + ": zone " + z.apex_text + " has no SOA record; the first record " +
                       "must be the SOA of the apex (RFC 1035 5.2)");
  } else if (&z.records.front() != soa) {
    problems.push_back(z.records.front().where + ": the first record must be the SOA of " +
                       z.apex_text + " (RFC 1035 5.2); it is at " + soa->where);
  }
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

}  // namespace

zone_file load_zone_file(const std::string& path, const std::string& origin) {
  zone_file z;
  z.path = path;
  std::string apex_text = origin.ends_with('.') ? origin : origin + ".";
  rdf_ptr apex(ldns_dname_new_frm_str(apex_text.c_str()));
  if (!apex) throw config::error(path + ": origin \"" + origin + "\" is not a domain name");
  ldns_dname2canonical(apex.get());
  z.apex.assign(reinterpret_cast<const char*>(ldns_rdf_data(apex.get())),
                ldns_rdf_size(apex.get()));
  z.apex_text = rdf_text(apex.get());

  loader l(z, apex.get());
  try {
    l.read_file(path, apex.get(), std::nullopt, "");
  } catch (const stop_reading&) {
  }
  if (l.problems.empty()) check_zone(z, l.problems);
  if (!l.problems.empty()) throw config::error(join_lines(l.problems));
  return z;
}

}  // namespace vpcedns::zone
