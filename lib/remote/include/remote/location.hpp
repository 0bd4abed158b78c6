#pragma once
// Where remote files are: anything rclone can reach.
//   name:bucket/prefix              a remote of the user's rclone configuration
//   :s3,provider=Minio:bucket/dir   an on-the-fly remote (rclone's connection strings)
//   s3://bucket/prefix              rclone's S3 backend; credentials, endpoint and region
//                                   from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//                                   AWS_ENDPOINT_URL and AWS_REGION
#include <string>
#include <vector>

namespace remote {

struct Location {
  std::string path;                 // what rclone is given
  std::vector<std::string> flags;   // backend flags the path needs (s3:// shorthand)
  std::string shown;                // as the user wrote it, for messages

  // `relative` ('/'-separated) below this location.
  Location child(const std::string& relative) const;
  // The last part of the path, after its last '/' or ':' (empty for a remote's root).
  std::string name() const;
};

// Whether `text` names a remote location rather than a local path: s3://, or rclone's
// "name:" / ":backend:" forms. A local path with a colon can be written ./a:b.
bool is_remote(const std::string& text);

// Throws std::invalid_argument with the reason for text that is not a location.
Location parse_location(const std::string& text);

// Whether a file argument is remote: a location as above, or an http(s):// address.
bool is_remote_file(const std::string& text);
// One file to read: a location as above, or an http(s):// address (rclone's HTTP backend,
// read-only). Throws std::invalid_argument as parse_location.
Location parse_file_location(const std::string& text);

}  // namespace remote
