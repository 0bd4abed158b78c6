#include "remote/file_arguments.hpp"

namespace remote {

std::string FileArguments::readable(const std::string& given) {
  if (!remote::is_remote_file(given)) return given;
  copies_.push_back(std::make_unique<remote::LocalCopy>(remote::parse_file_location(given), rclone_));
  stand_ins_.emplace_back(copies_.back()->path(), given);
  return copies_.back()->path();
}

std::shared_ptr<const pth::MappedFile> FileArguments::read_in_parts(const std::string& given) {
  if (!remote::is_remote_file(given)) return pth::MappedFile::open(given);
  partial_copies_.push_back(std::make_unique<remote::PartialCopy>(remote::parse_file_location(given), rclone_));
  stand_ins_.emplace_back(partial_copies_.back()->file()->path(), given);
  return partial_copies_.back()->file();
}

std::string FileArguments::writable(const std::string& given) {
  if (!remote::is_remote(given)) return given;
  auto upload = std::make_unique<Upload>();
  upload->to = remote::parse_location(given);
  upload->local = upload->folder.file(remote::file_name_of(upload->to));
  stand_ins_.emplace_back(upload->local, given);
  uploads_.push_back(std::move(upload));
  return uploads_.back()->local;
}

void FileArguments::publish() const {
  for (const auto& upload : uploads_) rclone_.upload(upload->local, upload->to);
}

std::string FileArguments::shown(std::string message) const {
  for (const auto& [local, given] : stand_ins_)
    for (size_t at; (at = message.find(local)) != std::string::npos;) message.replace(at, local.size(), given);
  return message;
}

}  // namespace remote
