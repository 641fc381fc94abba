"""The schema, one module per domain. Importing this package registers every table on `Base.metadata`."""

from core.models.academic import (
    Course,
    Enrollment,
    Intervention,
    RecommendationRule,
    RecordField,
    RiskPrediction,
    Student,
    Term,
)
from core.models.auth import ROLES, ApiToken, AuditLog, User
from core.models.campus import AttendanceObservation, Building, ClassSession, OccupancyPrediction, Venue
from core.models.census import (
    CensusMunicipalityEnrollment,
    CensusRefresh,
    CensusUfEnrollment,
    CensusYear,
    School,
)
from core.models.enrollment import EnrollmentAreaForecast, EnrollmentForecast
from core.models.imports import ImportBatch, MappingPreset
from core.models.lifecycle import JobRun, ModelVersion, Publication
from core.models.media import ImageScore, ImageUpload, LabelledDataset
from core.models.settings import Setting
from core.models.view_cache import ViewCache

__all__ = [
    "ROLES",
    "ApiToken",
    "AttendanceObservation",
    "AuditLog",
    "Building",
    "CensusMunicipalityEnrollment",
    "CensusRefresh",
    "CensusUfEnrollment",
    "CensusYear",
    "ClassSession",
    "Course",
    "Enrollment",
    "EnrollmentAreaForecast",
    "EnrollmentForecast",
    "ImageScore",
    "ImageUpload",
    "ImportBatch",
    "Intervention",
    "JobRun",
    "LabelledDataset",
    "MappingPreset",
    "ModelVersion",
    "OccupancyPrediction",
    "Publication",
    "RecommendationRule",
    "RecordField",
    "RiskPrediction",
    "School",
    "Setting",
    "Student",
    "Term",
    "User",
    "Venue",
    "ViewCache",
]
