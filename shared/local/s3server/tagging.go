package s3server

import (
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// tagSet is an object's tags by key.
type tagSet map[string]string

// S3's limits on an object's tags.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
const (
	maxTags        = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tagging is the XML document of the ?tagging subresource.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  struct {
		Tags []tag `xml:"Tag"`
	} `xml:"TagSet"`
}

type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// Tags returns a copy of an object's tags (nil when it has none).
func (s *Server) Tags(bucket, key string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.tags[objectName{bucket, key}])
}

func (s *Server) setTags(obj objectName, tags tagSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(tags) == 0 {
		delete(s.tags, obj)
		return
	}
	s.tags[obj] = tags
}

// putObject stores an object with the tags of its x-amz-tagging header: a
// new object replaces the tags of the one it overwrites.
func (s *Server) putObject(w http.ResponseWriter, r *http.Request, obj objectName) {
	var tags tagSet
	if header := r.Header.Get("X-Amz-Tagging"); header != "" {
		pairs, err := url.ParseQuery(header)
		if err != nil {
			writeError(w, r, fail("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters"))
			return
		}
		var apiErr *apiError
		if tags, apiErr = newTagSet(pairs); apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
	}
	// A tag is not metadata: gofakes3 would keep the header as metadata.
	r.Header.Del("X-Amz-Tagging")
	if status := serveCapturing(s.fake, w, r); status < http.StatusMultipleChoices {
		s.setTags(obj, tags)
	}
}

// serveTagging answers GetObjectTagging, PutObjectTagging and
// DeleteObjectTagging for an existing object.
func (s *Server) serveTagging(w http.ResponseWriter, r *http.Request, op string, obj objectName) {
	if _, err := s.Backend.HeadObject(obj.bucket, obj.key); err != nil {
		writeError(w, r, backendError(err))
		return
	}
	switch op {
	case "GetObjectTagging":
		doc := tagging{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/"}
		tags := s.Tags(obj.bucket, obj.key)
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			doc.TagSet.Tags = append(doc.TagSet.Tags, tag{Key: k, Value: tags[k]})
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, xml.Header)
		_ = xml.NewEncoder(w).Encode(doc)
	case "PutObjectTagging":
		tags, apiErr := readTagging(r.Body)
		if apiErr != nil {
			writeError(w, r, apiErr)
			return
		}
		s.setTags(obj, tags)
		w.WriteHeader(http.StatusOK)
	default:
		s.setTags(obj, nil)
		w.WriteHeader(http.StatusNoContent)
	}
}

// readTagging decodes a Tagging document (a PutObjectTagging body, a POST
// upload's tagging field).
func readTagging(body io.Reader) (tagSet, *apiError) {
	var doc tagging
	if err := xml.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&doc); err != nil {
		return nil, fail("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	pairs := url.Values{}
	for _, t := range doc.TagSet.Tags {
		pairs.Add(t.Key, t.Value)
	}
	return newTagSet(pairs)
}

// newTagSet checks tags against S3's rules.
func newTagSet(pairs url.Values) (tagSet, *apiError) {
	if len(pairs) > maxTags {
		return nil, fail("InvalidTag", "Object tags cannot be greater than 10")
	}
	tags := tagSet{}
	for k, vs := range pairs {
		switch {
		case len(vs) > 1:
			return nil, fail("InvalidTag", "Cannot provide multiple Tags with the same key")
		case k == "" || len(k) > maxTagKeyLen:
			return nil, fail("InvalidTag", "The TagKey you have provided is invalid")
		case len(vs[0]) > maxTagValueLen:
			return nil, fail("InvalidTag", "The TagValue you have provided is invalid")
		case strings.HasPrefix(k, "aws:"):
			return nil, fail("InvalidTag", "Your TagKey cannot be prefixed with aws:")
		}
		tags[k] = vs[0]
	}
	return tags, nil
}

// backendError answers the backend's refusal with S3's code.
func backendError(err error) *apiError {
	switch {
	case gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey):
		return fail("NoSuchKey", "The specified key does not exist.")
	case gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket):
		return fail("NoSuchBucket", "The specified bucket does not exist")
	}
	return fail("InternalError", err.Error())
}
