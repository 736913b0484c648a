package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// rawBodyKey holds the request body as the server received it, before
// limitBody capped it for JSON; the upload handler applies its own limit.
const rawBodyKey = "coldtrace.rawbody"

// uploadOverhead is what a multipart upload may add to the attachment's
// bytes (boundaries, part headers, other small fields).
const uploadOverhead = 1 << 20

// attachmentResponse answers an upload.
type attachmentResponse struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

// attachmentRoutes registers the attachment routes on the authenticated
// group.
func (s *server) attachmentRoutes(g *gin.RouterGroup) {
	g.POST("/attachments", s.uploadAttachment)
	g.GET("/attachments/:sha256", s.getAttachment)
}

// maxUploadBytes is the limit of an upload request body.
func (s *server) maxUploadBytes() int64 {
	if s.opts.MaxUploadBytes > 0 {
		return s.opts.MaxUploadBytes
	}
	return s.l.MaxAttachmentBytes() + uploadOverhead
}

// uploadBody returns the request body under the upload limit instead of the
// JSON one. Reading past the limit fails with a TooLarge ledger error.
func (s *server) uploadBody(c *gin.Context) io.Reader {
	return limitedBody{http.MaxBytesReader(c.Writer, s.rateBody(c, rawBody(c)), s.maxUploadBytes())}
}

// rawBody returns the request body before limitBody capped it, for handlers
// with limits of their own.
func rawBody(c *gin.Context) io.ReadCloser {
	body := c.Request.Body
	if v, ok := c.Get(rawBodyKey); ok {
		body = v.(io.ReadCloser)
	}
	if body == nil {
		body = http.NoBody
	}
	return body
}

// limitedBody turns the body's size limit error into a ledger error.
type limitedBody struct{ r io.Reader }

func (b limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		err = fault.Errorf(fault.TooLarge, "the upload is larger than the limit of %d bytes", maxErr.Limit)
	}
	return n, err
}

// uploadAttachment stores the body, raw with its Content-Type or as the
// multipart field "file", and answers 201 {"sha256","size","content_type"}.
// The bytes are streamed to the blob store as they arrive.
func (s *server) uploadAttachment(c *gin.Context) {
	if n := c.Request.ContentLength; n > s.maxUploadBytes() {
		fail(c, fault.Errorf(fault.TooLarge, "the upload (%d bytes) is larger than the limit of %d bytes", n, s.maxUploadBytes()))
		return
	}
	if n := c.Request.ContentLength; n > 0 && s.opts.UploadFits != nil {
		if err := s.opts.UploadFits(n); err != nil {
			fail(c, err)
			return
		}
	}
	body := s.uploadBody(c)
	declared := c.GetHeader("Content-Type")
	var (
		att *ledger.Attachment
		err error
	)
	if mt, params, perr := mime.ParseMediaType(declared); perr == nil && mt == "multipart/form-data" {
		att, err = s.uploadMultipart(c, body, params["boundary"])
	} else {
		att, err = s.l.PutAttachment(c.Request.Context(), principal(c), declared, body, c.Request.ContentLength)
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/attachments/"+att.SHA256)
	answer(c, http.StatusCreated, attachmentResponse{SHA256: att.SHA256, Size: att.Size, ContentType: att.ContentType})
}

// uploadMultipart stores the part named "file" of a multipart/form-data
// body, streamed; the part's own Content-Type is the declared type. Problems
// are reported on the field "file".
func (s *server) uploadMultipart(c *gin.Context, body io.Reader, boundary string) (*ledger.Attachment, error) {
	if boundary == "" {
		return nil, fileError("the multipart Content-Type has no boundary")
	}
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, fileError("is required: send the attachment as the multipart field \"file\"")
		}
		if err != nil {
			if fault.KindOf(err) == fault.TooLarge {
				return nil, err
			}
			return nil, fileError("the multipart body does not parse: " + err.Error())
		}
		if part.FormName() != "file" {
			// Other fields are ignored; drain them (bounded by the body limit).
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, fileError("the multipart body does not parse: " + err.Error())
			}
			continue
		}
		att, err := s.l.PutAttachment(c.Request.Context(), principal(c), part.Header.Get("Content-Type"), part, -1)
		return att, renameFields(err, "file")
	}
}

func fileError(msg string) error {
	return fault.BadField("invalid field file", "file", msg)
}

// renameFields reports the ledger's "Content-Type" and "body" problems of a
// multipart upload on the form field that carried them.
func renameFields(err error, field string) error {
	var le *fault.Error
	if !errors.As(err, &le) || len(le.Fields) == 0 {
		return err
	}
	out := *le
	out.Fields = make([]fault.FieldError, len(le.Fields))
	for i, f := range le.Fields {
		switch f.Field {
		case "Content-Type":
			f.Field, f.Message = field, "Content-Type "+f.Message
		case "body":
			f.Field = field
		}
		out.Fields[i] = f
	}
	out.Msg = strings.ReplaceAll(out.Msg, "body", field)
	return &out
}

// getAttachment answers the bytes of an attachment the caller may read. With
// ?redirect=true, and a blob store that can presign, it answers 302 to a
// short-lived URL of the object store instead (a client that follows it must
// not send its Authorization header there).
func (s *server) getAttachment(c *gin.Context) {
	ctx := c.Request.Context()
	p, sha := principal(c), c.Param("sha256")
	if r := c.Query("redirect"); r == "true" || r == "1" {
		u, err := s.l.AttachmentURL(ctx, p, sha, s.opts.PresignTTL)
		switch {
		case err == nil:
			c.Header("Cache-Control", "no-store")
			c.Redirect(http.StatusFound, u)
			return
		case !errors.Is(err, ledger.ErrNotSupported):
			fail(c, err)
			return
		}
		// The store cannot presign: serve the bytes.
	}
	att, rc, err := s.l.OpenAttachment(ctx, p, sha)
	if err != nil {
		fail(c, err)
		return
	}
	defer rc.Close()
	h := c.Writer.Header()
	etag := `"` + att.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	if inm := c.GetHeader("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		c.Status(http.StatusNotModified)
		return
	}
	raw, _ := hex.DecodeString(att.SHA256)
	h.Set("Content-Type", att.ContentType)
	h.Set("Content-Length", strconv.FormatInt(att.Size, 10))
	h.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":")
	h.Set("Content-Disposition", `attachment; filename="`+att.SHA256+extension(att.ContentType)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, rc); err != nil {
		// The status line is gone: break the connection so that the client
		// cannot take a broken or altered download for a whole one.
		s.log.Error("attachment download failed", "sha256", att.SHA256, "kind", fault.KindOf(err).String(), "err", err)
		panic(http.ErrAbortHandler)
	}
}

func extension(ct string) string {
	switch ct {
	case ledger.TypePDF:
		return ".pdf"
	case ledger.TypeJPEG:
		return ".jpg"
	case ledger.TypePNG:
		return ".png"
	case ledger.TypeCSV:
		return ".csv"
	}
	return ""
}

// blobsReady answers /readyz's problem when the blob store is down and
// reports whether it is up. The cause is logged, not shown: /readyz is
// public.
func (s *server) blobsReady(c *gin.Context) bool {
	err := s.l.BlobsHealthy(c.Request.Context())
	if err == nil {
		return true
	}
	fail(c, fault.Wrap(fault.Unavailable, "the blob store cannot be reached: attachment uploads and downloads answer 503 until it is back", err))
	return false
}
