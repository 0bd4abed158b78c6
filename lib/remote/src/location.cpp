#include "remote/location.hpp"

#include <cstdlib>
#include <stdexcept>

namespace remote {
namespace {

bool remote_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == ' ' || c == '+' || c == '@';
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// s3://bucket/prefix as rclone's S3 backend with the AWS environment. The settings go as
// backend flags rather than inside the connection string, where an endpoint's ':' would
// need quoting.
Location s3_location(const std::string& text) {
  const std::string rest = text.substr(5);
  if (rest.empty() || rest.front() == '/') throw std::invalid_argument("'" + text + "' names no bucket (s3://bucket/prefix)");
  Location l;
  l.path = ":s3:" + rest;
  l.flags = {"--s3-provider", "Other", "--s3-env-auth"};
  if (const std::string endpoint = env("AWS_ENDPOINT_URL"); !endpoint.empty()) {
    l.flags.push_back("--s3-endpoint");
    l.flags.push_back(endpoint);
  }
  if (const std::string region = env("AWS_REGION"); !region.empty()) {
    l.flags.push_back("--s3-region");
    l.flags.push_back(region);
  }
  l.shown = text;
  return l;
}

bool is_web_address(const std::string& text) { return text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0; }

// https://host/dir/file as rclone's HTTP backend rooted at the file's folder.
Location web_location(const std::string& text) {
  if (text.find_first_of("?#") != std::string::npos)
    throw std::invalid_argument("'" + text + "': web addresses with a query or fragment are not supported");
  const size_t host = text.find("://") + 3;
  const size_t slash = text.find_last_of('/');
  if (slash < host || slash + 1 == text.size()) throw std::invalid_argument("'" + text + "' names no file");
  Location l;
  l.path = ":http:" + text.substr(slash + 1);
  l.flags = {"--http-url", text.substr(0, slash + 1)};
  l.shown = text;
  return l;
}

}  // namespace

std::string Location::name() const {
  const size_t cut = path.find_last_of("/:");
  return cut == std::string::npos ? path : path.substr(cut + 1);
}

Location Location::child(const std::string& relative) const {
  Location out = *this;
  const char last = path.empty() ? ':' : path.back();
  out.path += (last == ':' || last == '/') ? relative : "/" + relative;
  const char shown_last = shown.empty() ? ':' : shown.back();
  out.shown += (shown_last == ':' || shown_last == '/') ? relative : "/" + relative;
  return out;
}

bool is_remote(const std::string& text) {
  if (text.rfind("s3://", 0) == 0) return true;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  if (text[0] == ':') return true;   // :backend[,options]:path
  for (size_t i = 0; i < colon; ++i)
    if (!remote_name_char(text[i])) return false;
  return text[0] != '.' && text[0] != '-';
}

Location parse_location(const std::string& text) {
  if (text.rfind("s3://", 0) == 0) return s3_location(text);
  if (is_web_address(text))
    throw std::invalid_argument("'" + text + "' is a web address; a storage location is an rclone remote (name:path) or s3://bucket/prefix");
  if (!is_remote(text))
    throw std::invalid_argument("'" + text + "' is not a remote location (name:path, :backend:path or s3://bucket/prefix)");
  if (text[0] == ':' && text.find(':', 1) == std::string::npos)
    throw std::invalid_argument("'" + text + "': an on-the-fly remote is :backend[,option=value...]:path");
  Location l;
  l.path = text;
  l.shown = text;
  return l;
}

bool is_remote_file(const std::string& text) { return is_web_address(text) || is_remote(text); }

Location parse_file_location(const std::string& text) {
  return is_web_address(text) ? web_location(text) : parse_location(text);
}

}  // namespace remote
