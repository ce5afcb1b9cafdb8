/* test_version: the header this program was compiled with, the library it runs with
 * and the CMake package (CN_PACKAGE_VERSION, CN_PACKAGE_ABI) agree on the version
 * and the ABI. */
#include <stdio.h>
#include <string.h>

#include <cryptonets.h>

#define STR2(x) #x
#define STR(x) STR2(x)

int main(void) {
    int failures = 0;
    const char *numbers = STR(CN_VERSION_MAJOR) "." STR(CN_VERSION_MINOR) "." STR(CN_VERSION_PATCH);
    if (strcmp(CN_VERSION, numbers) != 0) {
        fprintf(stderr, "CN_VERSION \"%s\" != CN_VERSION_MAJOR.MINOR.PATCH \"%s\"\n", CN_VERSION, numbers);
        failures++;
    }
    if (cn_version() == NULL || strcmp(cn_version(), CN_VERSION) != 0) {
        fprintf(stderr, "cn_version() \"%s\" != CN_VERSION \"%s\"\n", cn_version() ? cn_version() : "(null)", CN_VERSION);
        failures++;
    }
    if (cn_abi_version() != CN_ABI_VERSION) {
        fprintf(stderr, "cn_abi_version() %d != CN_ABI_VERSION %d\n", cn_abi_version(), CN_ABI_VERSION);
        failures++;
    }
    /* CMakeLists.txt passes the CMake package's version and ABI number. */
    if (cn_version() == NULL || strcmp(cn_version(), CN_PACKAGE_VERSION) != 0 || cn_abi_version() != CN_PACKAGE_ABI) {
        fprintf(stderr, "library %s ABI %d != CMake package %s ABI %d\n", cn_version() ? cn_version() : "(null)",
                cn_abi_version(), CN_PACKAGE_VERSION, CN_PACKAGE_ABI);
        failures++;
    }
    /* Status codes are part of the ABI. */
    if (CN_OK != 0 || CN_E_INVALID_ARGUMENT != -1 || CN_E_MALFORMED != -2 || CN_E_MISMATCH != -3 ||
        CN_E_INSECURE_PARAMETERS != -4 || CN_E_IO != -5 || CN_E_BUFFER_TOO_SMALL != -6 || CN_E_INTERNAL != -7 ||
        CN_E_INTEGRITY != -8 || CN_E_LIMIT != -9 || CN_E_UNSUPPORTED != -10) {
        fprintf(stderr, "status codes changed\n");
        failures++;
    }
    if (cn_last_error() == NULL || cn_last_error()[0] != '\0') {
        fprintf(stderr, "cn_last_error() before any failure is not \"\"\n");
        failures++;
    }
    printf("header %s ABI %d, library %s ABI %d\n", CN_VERSION, CN_ABI_VERSION, cn_version(), cn_abi_version());
    return failures == 0 ? 0 : 1;
}
