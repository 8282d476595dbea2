package s3server

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Browser-based uploads (POST Object) as S3 answers them.
// https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
const (
	// maxPreData is how much form data S3 reads before the file (20 KB);
	// here the fields' names and values are counted, not the boundaries.
	maxPreData = 20 << 10
	// maxPostObject is the largest file of one POST (5 GB).
	maxPostObject = 5 << 30
	// defaultPostType is the Content-Type of an object posted without one.
	defaultPostType = "binary/octet-stream"
)

// Fields of a POST upload the server reads itself.
const (
	fieldKey       = "key"
	fieldPolicy    = "policy"
	fieldSignature = "x-amz-signature"
)

// postForm is a POST upload's fields up to its file, and the file.
type postForm struct {
	// fields by lower-cased name (S3 matches names case-insensitively),
	// repeated fields joined with commas as a policy matches them.
	fields map[string]string
	// names are the fields' lower-cased names in order, once each.
	names    []string
	file     *multipart.Part
	filename string
}

// browserUpload reports a POST Object: a multipart/form-data POST to the
// bucket itself.
func browserUpload(r *http.Request, key string) bool {
	if r.Method != http.MethodPost || key != "" {
		return false
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mediaType == "multipart/form-data"
}

// postObject stores the file of a browser-based upload whose form passes
// S3's checks: its signature, its policy, and the file's size.
func (s *Server) postObject(w http.ResponseWriter, r *http.Request, bucket string) {
	form, apiErr := readPostForm(r)
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	policy, apiErr := s.authorizePost(form, bucket)
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	lo, hi := policy.sizeRange()
	body, apiErr := readPostFile(form.file, lo, hi)
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	tags, apiErr := postTags(form.fields["tagging"])
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	key := form.fields[fieldKey]
	if _, err := s.Backend.PutObject(bucket, key, postMetadata(form, s.now()), bytes.NewReader(body), int64(len(body)), nil); err != nil {
		writeError(w, r, backendError(err))
		return
	}
	s.setTags(objectName{bucket, key}, tags)
	sum := md5.Sum(body)
	answerPost(w, r, form.fields["success_action_status"], bucket, key, `"`+hex.EncodeToString(sum[:])+`"`)
}

// readPostForm reads the fields up to the file part. Fields after the file
// are never read: S3 ignores them.
func readPostForm(r *http.Request) (*postForm, *apiError) {
	malformed := fail("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, malformed
	}
	form := &postForm{fields: map[string]string{}}
	preData := 0
	for {
		part, err := mr.NextPart()
		switch {
		case errors.Is(err, io.EOF):
			return nil, fail("InvalidArgument", "POST requires exactly one file upload per request.").with("ArgumentName", "file")
		case err != nil:
			return nil, malformed
		}
		name := strings.ToLower(part.FormName())
		if name == "file" {
			form.file, form.filename = part, part.FileName()
			return form, nil
		}
		value, err := io.ReadAll(io.LimitReader(part, maxPreData+1))
		if preData += len(name) + len(value); err != nil || preData > maxPreData {
			return nil, fail("MaxPostPreDataLengthExceeded", "Your POST request fields preceding the upload file were too large.")
		}
		if prev, seen := form.fields[name]; seen {
			form.fields[name] = prev + "," + string(value)
			continue
		}
		form.fields[name] = string(value)
		form.names = append(form.names, name)
	}
}

// authorizePost checks the form's SigV4 signature of its policy, then the
// policy. The key's ${filename} is expanded first, as S3 does.
func (s *Server) authorizePost(form *postForm, bucket string) (postPolicy, *apiError) {
	for _, name := range []string{fieldKey, fieldPolicy, "x-amz-algorithm", "x-amz-credential", "x-amz-date", fieldSignature} {
		if _, ok := form.fields[name]; ok {
			continue
		}
		if name == fieldPolicy {
			return postPolicy{}, fail("AccessDenied", "Access Denied") // anonymous, and the bucket is private
		}
		return postPolicy{}, fail("InvalidArgument", fmt.Sprintf("Bucket POST must contain a field named '%s'.  "+
			"If it is specified, please check the order of the fields.", name)).with("ArgumentName", name)
	}
	if form.fields["x-amz-algorithm"] != sigAlgorithm {
		return postPolicy{}, fail("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported.").with("ArgumentName", "x-amz-algorithm")
	}
	sig, ok := parseCredential(form.fields["x-amz-credential"])
	at, err := time.Parse(sigTimeFormat, form.fields["x-amz-date"])
	if !ok || err != nil || !strings.HasPrefix(sig.scope, at.Format("20060102")+"/") {
		return postPolicy{}, fail("InvalidArgument", "Invalid x-amz-credential or x-amz-date.").with("ArgumentName", "x-amz-credential")
	}
	secret, known := s.keys[sig.accessKey]
	if !known {
		return postPolicy{}, fail("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	want := hex.EncodeToString(hmacSHA256(signingKey(secret, sig.scope), form.fields[fieldPolicy]))
	if !hmac.Equal([]byte(want), []byte(form.fields[fieldSignature])) {
		return postPolicy{}, fail("SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	policy, apiErr := parsePolicy(form.fields[fieldPolicy])
	if apiErr != nil {
		return postPolicy{}, apiErr
	}
	form.fields[fieldKey] = strings.ReplaceAll(form.fields[fieldKey], "${filename}", baseName(form.filename))
	return policy, policy.check(form, bucket, s.now())
}

// baseName is what S3 puts for ${filename}: the name after the last slash
// or backslash.
func baseName(filename string) string {
	return filename[strings.LastIndexAny(filename, `/\`)+1:]
}

// readPostFile reads the file, refusing it outside the policy's size range
// with the size S3 reports.
func readPostFile(file io.Reader, lo, hi int64) ([]byte, *apiError) {
	body, err := io.ReadAll(io.LimitReader(file, hi+1))
	if err != nil {
		return nil, fail("IncompleteBody", "The request body terminated unexpectedly")
	}
	size := int64(len(body))
	if size > hi {
		rest, _ := io.Copy(io.Discard, file)
		return nil, fail("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size").
			with("ProposedSize", strconv.FormatInt(size+rest, 10)).with("MaxSizeAllowed", strconv.FormatInt(hi, 10))
	}
	if size < lo {
		return nil, fail("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size").
			with("ProposedSize", strconv.FormatInt(size, 10)).with("MinSizeAllowed", strconv.FormatInt(lo, 10))
	}
	return body, nil
}

// postTags reads the tagging field: a Tagging XML document, as the body of
// PutObjectTagging.
func postTags(doc string) (tagSet, *apiError) {
	if doc == "" {
		return nil, nil
	}
	return readTagging(strings.NewReader(doc))
}

// postMetadata is what S3 keeps of the form: the REST headers it names and
// the user metadata.
func postMetadata(form *postForm, now time.Time) map[string]string {
	meta := map[string]string{"Content-Type": defaultPostType, "Last-Modified": now.UTC().Format(http.TimeFormat)}
	for _, name := range form.names {
		switch {
		case name == "content-type", name == "cache-control", name == "content-disposition", name == "content-encoding",
			name == "expires", strings.HasPrefix(name, "x-amz-meta-"):
			meta[textproto.CanonicalMIMEHeaderKey(name)] = form.fields[name]
		}
	}
	return meta
}

// answerPost answers a stored upload with success_action_status: 200 or
// 204 with no body, 201 with the PostResponse document, 204 for any other
// value.
func answerPost(w http.ResponseWriter, r *http.Request, status, bucket, key, etag string) {
	location := "http://" + r.Host + (&url.URL{Path: "/" + bucket + "/" + key}).EscapedPath()
	w.Header().Set("ETag", etag)
	w.Header().Set("Location", location)
	switch status {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusCreated)
		_ = xml.NewEncoder(w).Encode(struct {
			XMLName  xml.Name `xml:"PostResponse"`
			Location string   `xml:"Location"`
			Bucket   string   `xml:"Bucket"`
			Key      string   `xml:"Key"`
			ETag     string   `xml:"ETag"`
		}{Location: location, Bucket: bucket, Key: key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
